/// Trains a byte-level BPE tokenizer (like `tokenizers`' `BpeTrainer` with a ByteLevel pre-tokenizer: all 256 bytes
/// in the initial alphabet, special tokens first) and returns it as a `Tokenizer` whose `tokenizer.json` the Python
/// library loads and encodes identically.
public struct BPETrainer: Sendable {
    /// How text is split into words before merges are learned (and when encoding with the result).
    public enum PreTokenization: String, Sendable {
        /// GPT-2's regex inside the ByteLevel pre-tokenizer.
        case gpt2
        /// Llama-3's regex (numbers in groups of up to three) as a Split before ByteLevel.
        case llama3
    }

    /// The vocabulary size to reach, special tokens and the 256 byte tokens included.
    public var vocabularySize: Int
    /// Pairs seen fewer times than this are never merged.
    public var minimumFrequency: Int
    /// Special tokens, given the first ids in this order (and split out of the training text).
    public var specialTokens: [String]
    /// How words are split (GPT-2 or Llama-3 regex), in training and in the written `tokenizer.json`.
    public var preTokenization: PreTokenization
    /// The BOS token the post-processor puts in front of every encoding (nil for none); must be a special token.
    public var bosToken: String?
    /// The EOS token written to `tokenizer_config.json`; must be a special token.
    public var eosToken: String?
    /// The padding token written to `tokenizer_config.json`; must be a special token.
    public var padToken: String?
    /// A chat template written to `tokenizer_config.json`.
    public var chatTemplate: String?

    /// Creates a trainer; see the properties for what each setting means.
    public init(
        vocabularySize: Int = 8_000, minimumFrequency: Int = 2, specialTokens: [String] = [],
        preTokenization: PreTokenization = .llama3, bosToken: String? = nil, eosToken: String? = nil,
        padToken: String? = nil, chatTemplate: String? = nil
    ) {
        self.vocabularySize = vocabularySize
        self.minimumFrequency = minimumFrequency
        self.specialTokens = specialTokens
        self.preTokenization = preTokenization
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.padToken = padToken
        self.chatTemplate = chatTemplate
    }

    /// Learns merges from `texts` and returns the trained tokenizer.
    public func train(texts: some Sequence<String>) throws -> Tokenizer {
        for (name, token) in [("bosToken", bosToken), ("eosToken", eosToken), ("padToken", padToken)] {
            if let token, !specialTokens.contains(token) {
                throw TokenizerError("BPETrainer.\(name) `\(token)` must also be listed in specialTokens")
            }
        }
        let uniqueSpecials = specialTokens.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        guard vocabularySize >= uniqueSpecials.count + 256 else {
            throw TokenizerError(
                "BPETrainer.vocabularySize \(vocabularySize) is smaller than the 256 byte tokens plus "
                    + "\(uniqueSpecials.count) special tokens; raise it")
        }
        let (words, counts) = countWords(texts, specials: uniqueSpecials)

        // Ids: special tokens, then the byte alphabet in the order of its characters, then one per merge.
        var vocab = uniqueSpecials
        var idOfToken: [String: Int32] = [:]
        for (id, token) in vocab.enumerated() { idOfToken[token] = Int32(id) }
        var idOfByte = [Int32](repeating: -1, count: 256)
        for byte in (0..<256).sorted(by: { ByteLevelAlphabet.scalarForByte[$0] < ByteLevelAlphabet.scalarForByte[$1] })
        {
            let token = ByteLevelAlphabet.encode([UInt8(byte)])
            if let existing = idOfToken[token] {
                idOfByte[byte] = existing
            } else {
                idOfByte[byte] = Int32(vocab.count)
                idOfToken[token] = Int32(vocab.count)
                vocab.append(token)
            }
        }
        let symbols = words.map { $0.map { idOfByte[Int($0)] } }
        var learner = BPEMergeLearner(words: symbols, counts: counts)
        let merges = learner.learn(
            vocabulary: &vocab, idOfToken: &idOfToken, limit: vocabularySize, minimumFrequency: minimumFrequency)

        let json = document(vocab: vocab, merges: merges, specials: uniqueSpecials).serialized()
        let config = configDocument().serialized()
        let state = try TokenizerState(tokenizerJSON: json, tokenizerConfig: config)
        return Tokenizer(state: state)
    }

    /// Unique pre-tokenized words (raw bytes) of the texts, and how often each occurs.
    private func countWords(_ texts: some Sequence<String>, specials: [String]) -> ([[UInt8]], [Int]) {
        var added = AddedVocabulary()
        for (id, token) in specials.enumerated() {
            added.insert(TokenizerAddedToken(id: Int32(id), content: token, special: true, normalized: false))
        }
        added.refreshMatchers(normalizer: nil)
        let preTokenizer = preTokenizerValue
        var index: [[UInt8]: Int] = [:]
        var words: [[UInt8]] = []
        var counts: [Int] = []
        for text in texts {
            var text = text
            text.withUTF8 { bytes in
                for case .text(let range) in added.split(bytes, with: added.rawMatcher) {
                    preTokenizer.forEachWord(
                        UnsafeBufferPointer(rebasing: bytes[range]), isFirst: range.lowerBound == 0
                    ) {
                        word, _ in
                        let key = Array(word)
                        if let existing = index[key] {
                            counts[existing] += 1
                        } else {
                            index[key] = words.count
                            words.append(key)
                            counts.append(1)
                        }
                    }
                }
            }
        }
        return (words, counts)
    }

    private var preTokenizerValue: TokenizerPreTokenizer {
        switch preTokenization {
        case .gpt2: return .byteLevel(addPrefixSpace: false, useRegex: true)
        case .llama3:
            return .sequence([
                .split(.llama3, .isolated, invert: false), .byteLevel(addPrefixSpace: false, useRegex: false),
            ])
        }
    }

    private func document(vocab: [String], merges: [(String, String)], specials: [String]) -> TokenizerJSONValue {
        let byteLevel: TokenizerJSONValue = .object([
            ("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)),
            ("use_regex", .bool(preTokenization == .gpt2)),
        ])
        let preTokenizer: TokenizerJSONValue
        switch preTokenization {
        case .gpt2: preTokenizer = byteLevel
        case .llama3:
            preTokenizer = .object([
                ("type", .string("Sequence")),
                (
                    "pretokenizers",
                    .array([
                        .object([
                            ("type", .string("Split")),
                            ("pattern", .object([("Regex", .string(TokenizerSplitPattern.llama3Source))])),
                            ("behavior", .string("Isolated")), ("invert", .bool(false)),
                        ]),
                        byteLevel,
                    ])
                ),
            ])
        }
        var postProcessor = byteLevel.setting("use_regex", to: .bool(true))
        if let bosToken, let bosID = specials.firstIndex(of: bosToken) {
            let special: TokenizerJSONValue = .object([
                ("SpecialToken", .object([("id", .string(bosToken)), ("type_id", .int(0))]))
            ])
            func sequence(_ name: String) -> TokenizerJSONValue {
                .object([("Sequence", .object([("id", .string(name)), ("type_id", .int(0))]))])
            }
            postProcessor = .object([
                ("type", .string("TemplateProcessing")),
                ("single", .array([special, sequence("A")])),
                ("pair", .array([special, sequence("A"), special, sequence("B")])),
                (
                    "special_tokens",
                    .object([
                        (
                            bosToken,
                            .object([
                                ("id", .string(bosToken)), ("ids", .array([.int(bosID)])),
                                ("tokens", .array([.string(bosToken)])),
                            ])
                        )
                    ])
                ),
            ])
        }
        let addedTokens: [TokenizerJSONValue] = specials.enumerated().map { id, token in
            .object([
                ("id", .int(id)), ("content", .string(token)), ("single_word", .bool(false)), ("lstrip", .bool(false)),
                ("rstrip", .bool(false)), ("normalized", .bool(false)), ("special", .bool(true)),
            ])
        }
        let model: TokenizerJSONValue = .object([
            ("type", .string("BPE")), ("dropout", .null), ("unk_token", .null), ("continuing_subword_prefix", .null),
            ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)),
            ("ignore_merges", .bool(false)),
            ("vocab", .object(vocab.enumerated().map { ($1, .int($0)) })),
            ("merges", .array(merges.map { .array([.string($0.0), .string($0.1)]) })),
        ])
        return .object([
            ("version", .string("1.0")), ("truncation", .null), ("padding", .null),
            ("added_tokens", .array(addedTokens)),
            ("normalizer", .null), ("pre_tokenizer", preTokenizer), ("post_processor", postProcessor),
            ("decoder", byteLevel.setting("use_regex", to: .bool(true))), ("model", model),
        ])
    }

    private func configDocument() -> TokenizerJSONValue {
        var members: [(String, TokenizerJSONValue)] = [("tokenizer_class", .string("PreTrainedTokenizerFast"))]
        if let bosToken { members.append(("bos_token", .string(bosToken))) }
        if let eosToken { members.append(("eos_token", .string(eosToken))) }
        if let padToken { members.append(("pad_token", .string(padToken))) }
        if let chatTemplate { members.append(("chat_template", .string(chatTemplate))) }
        return .object(members)
    }
}
