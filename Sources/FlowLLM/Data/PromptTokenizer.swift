/// What data preparation needs from a tokenizer; the Hugging Face `Tokenizer` conforms on merge.
public protocol PromptTokenizer: Sendable {
    /// Token ids of `text`; `addSpecialTokens` adds BOS (or what the post-processor adds).
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int32]
    /// Text of `ids`, dropping special tokens when `skipSpecialTokens`.
    func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String
    /// Beginning-of-sequence id, if the tokenizer has one.
    var bosTokenID: Int32? { get }
    /// End-of-sequence id, if the tokenizer has one.
    var eosTokenID: Int32? { get }
    /// Padding id, if the tokenizer has one.
    var padTokenID: Int32? { get }
    /// End-of-sequence token text.
    var eosToken: String? { get }
    /// Beginning-of-sequence token text.
    var bosToken: String? { get }
    /// The Jinja chat template from `tokenizer_config.json`, if any.
    var chatTemplate: String? { get }
    /// The id of a single token given by its text (vocabulary or added token).
    func id(forToken token: String) -> Int32?
    /// A digest of everything that changes encoding (vocabulary, merges, added tokens, normalizer).
    var contentDigest: String { get }
}
