import Foundation

/// A Hugging Face tokenizer (`tokenizer.json` with a BPE model, byte-level or SentencePiece-style) that encodes exactly
/// as the Python `tokenizers` library does.
///
/// Padding and truncation settings in `tokenizer.json` are ignored (as `transformers` does unless asked for them).
public final class Tokenizer: Sendable {
    let state: TokenizerState

    init(state: TokenizerState) {
        self.state = state
    }

    /// Loads `tokenizer.json` and, if present, `tokenizer_config.json` from `directory`.
    public convenience init(directory: URL) throws {
        let json = directory.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: json.path) else {
            throw TokenizerError(
                file: json.path,
                "not found; flow reads Hugging Face tokenizer.json files (convert a SentencePiece tokenizer.model "
                    + "first, e.g. with transformers: AutoTokenizer.from_pretrained(dir).save_pretrained(dir))")
        }
        let config = directory.appendingPathComponent("tokenizer_config.json")
        try self.init(
            tokenizerJSON: json,
            tokenizerConfig: FileManager.default.fileExists(atPath: config.path) ? config : nil)
    }

    /// Loads a `tokenizer.json` and an optional `tokenizer_config.json` (BOS/EOS/PAD tokens and the chat template).
    public init(tokenizerJSON: URL, tokenizerConfig: URL?) throws {
        func read(_ url: URL) throws -> [UInt8] {
            do {
                return Array(try Data(contentsOf: url))
            } catch {
                throw TokenizerError(file: url.path, "cannot read the file: \(error.localizedDescription)")
            }
        }
        let json = try read(tokenizerJSON)
        let config = try tokenizerConfig.map(read)
        state = try TokenizerState(
            tokenizerJSON: json, tokenizerConfig: config,
            jsonName: tokenizerJSON.lastPathComponent,
            configName: tokenizerConfig?.lastPathComponent ?? "tokenizer_config.json")
    }

    // MARK: Encoding

    /// The token ids of `text`; with `addSpecialTokens`, the post-processor adds its BOS/EOS template.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
        var text = text
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        text.withUTF8 { bytes in
            for piece in state.added.split(bytes, with: state.added.rawMatcher) {
                switch piece {
                case .token(let id): ids.append(id)
                case .text(let range):
                    encodeSegment(
                        UnsafeBufferPointer(rebasing: bytes[range]), isFirst: range.lowerBound == 0,
                        into: &ids)
                }
            }
        }
        if addSpecialTokens, let postProcessor = state.postProcessor { return postProcessor.process(ids) }
        return ids
    }

    /// Normalizes one piece of text between added tokens, splits out normalized added tokens, and runs the
    /// pre-tokenizer and the model on the rest.
    private func encodeSegment(_ bytes: UnsafeBufferPointer<UInt8>, isFirst: Bool, into ids: inout [Int32]) {
        guard let normalizer = state.normalizer else {
            return encodeNormalized(bytes, isFirst: isFirst, into: &ids)
        }
        let normalized = normalizer.apply(Array(bytes))
        normalized.withUnsafeBufferPointer { encodeNormalized($0, isFirst: isFirst, into: &ids) }
    }

    private func encodeNormalized(_ bytes: UnsafeBufferPointer<UInt8>, isFirst: Bool, into ids: inout [Int32]) {
        let matcher = state.added.normalizedMatcher
        if matcher.isEmpty { return encodeWords(bytes, isFirst: isFirst, into: &ids) }
        for piece in state.added.split(bytes, with: matcher) {
            switch piece {
            case .token(let id): ids.append(id)
            case .text(let range):
                encodeWords(
                    UnsafeBufferPointer(rebasing: bytes[range]), isFirst: isFirst && range.lowerBound == 0,
                    into: &ids)
            }
        }
    }

    private func encodeWords(_ bytes: UnsafeBufferPointer<UInt8>, isFirst: Bool, into ids: inout [Int32]) {
        let model = state.model
        guard let preTokenizer = state.preTokenizer else { return model.encodeWord(bytes, into: &ids) }
        preTokenizer.forEachWord(bytes, isFirst: isFirst) { word, _ in model.encodeWord(word, into: &ids) }
    }

    // MARK: Decoding and vocabulary

    /// The text of `ids`; with `skipSpecialTokens`, special added tokens are left out.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let added = state.added.token(withID: id) {
                if !(skipSpecialTokens && added.special) {
                    tokens.append(state.added.tokenString(forID: id) ?? added.content)
                }
            } else if let token = state.model.token(forID: id) {
                if !(skipSpecialTokens && state.added.isSpecial(content: token)) { tokens.append(token) }
            }
        }
        guard let decoder = state.decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    /// The vocabulary strings of `ids` (empty for an unknown id), for `flow llm tokenize`.
    public func tokenPieces(_ ids: [Int32]) -> [String] {
        ids.map { state.added.tokenString(forID: $0) ?? state.model.token(forID: $0) ?? "" }
    }

    /// The id of a token string (added tokens first, then the model's vocabulary).
    public func id(forToken token: String) -> Int32? {
        state.added.id(forContent: token) ?? state.model.id(forToken: token)
    }

    /// How many distinct tokens there are, added tokens included (`get_vocab_size(with_added_tokens=True)`).
    public var vocabularySize: Int {
        state.model.vocabCount + state.added.tokens.filter { state.model.id(forToken: $0.content) == nil }.count
    }

    /// The beginning-of-sequence token (from `tokenizer_config.json` or `withSpecialTokens`).
    public var bosToken: String? { state.specialTokens.bos }
    /// The end-of-sequence token.
    public var eosToken: String? { state.specialTokens.eos }
    /// The id of the beginning-of-sequence token.
    public var bosTokenID: Int32? { state.specialTokens.bos.flatMap(id(forToken:)) }
    /// The id of the end-of-sequence token.
    public var eosTokenID: Int32? { state.specialTokens.eos.flatMap(id(forToken:)) }
    /// The id of the padding token.
    public var padTokenID: Int32? { state.specialTokens.pad.flatMap(id(forToken:)) }
    /// The Jinja chat template from `tokenizer_config.json`.
    public var chatTemplate: String? { state.chatTemplate }
    /// A stable SHA-256 hex digest of the tokenizer's files plus any tokens added since, for cache keys.
    public var contentDigest: String { state.contentDigest }
}

/// The real tokenizer is what preprocessing tokenizes prompts and responses with.
extension Tokenizer: PromptTokenizer {}
