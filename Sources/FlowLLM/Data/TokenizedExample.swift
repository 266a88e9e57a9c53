/// One tokenized training example: ids and the labels the loss sees (`ignoredLabel` where masked).
public struct TokenizedExample: Sendable, Equatable {
    /// The label of a token the loss ignores (PyTorch's `ignore_index`).
    public static let ignoredLabel: Int32 = -100

    /// Token ids.
    public var inputIDs: [Int32]
    /// One label per id: the id itself where trained, `ignoredLabel` where masked.
    public var labels: [Int32]
    /// The dataset line the example came from (0 when unknown).
    public var sourceLine: Int

    /// An example; `labels` must have the length of `inputIDs`.
    public init(inputIDs: [Int32], labels: [Int32], sourceLine: Int = 0) {
        self.inputIDs = inputIDs
        self.labels = labels
        self.sourceLine = sourceLine
    }

    /// How many tokens the loss sees.
    public var trainedTokenCount: Int { labels.reduce(0) { $0 + ($1 == Self.ignoredLabel ? 0 : 1) } }
}

/// What every prompt strategy needs: the tokenizer, the effective special tokens and the label rules.
public struct PromptTokenizationContext: Sendable {
    /// The tokenizer.
    public let tokenizer: any PromptTokenizer
    /// `sequence_len`: also the truncation length of each tokenized part, as in Axolotl.
    public let sequenceLen: Int
    /// `train_on_inputs`.
    public let trainOnInputs: Bool
    /// Effective BOS/EOS (the config's `special_tokens` win over the tokenizer's).
    public let bosID: Int32?, eosID: Int32?
    /// Effective BOS/EOS texts, used by chat templates.
    public let bosToken: String, eosToken: String

    /// A context; BOS/EOS are the tokenizer's unless overridden (the config's `special_tokens`).
    public init(tokenizer: any PromptTokenizer, sequenceLen: Int, trainOnInputs: Bool,
                bosOverride: (id: Int32, text: String)? = nil, eosOverride: (id: Int32, text: String)? = nil) {
        self.tokenizer = tokenizer
        self.sequenceLen = sequenceLen
        self.trainOnInputs = trainOnInputs
        bosID = bosOverride?.id ?? tokenizer.bosTokenID
        eosID = eosOverride?.id ?? tokenizer.eosTokenID
        bosToken = bosOverride?.text ?? tokenizer.bosToken ?? ""
        eosToken = eosOverride?.text ?? tokenizer.eosToken ?? ""
    }

    /// Axolotl's `_tokenize`: encode with special tokens, truncate to `maxLength`, append EOS when asked (only
    /// if the last id is not EOS and the length is under `maxLength`), then strip a leading BOS when asked.
    public func tokenizePart(_ text: String, addEOS: Bool, stripBOS: Bool, maxLength: Int? = nil) -> [Int32] {
        let limit = maxLength ?? sequenceLen
        var ids = tokenizer.encode(text, addSpecialTokens: true)
        if ids.count > limit { ids.removeLast(ids.count - limit) }
        if ids.isEmpty { return ids }
        if addEOS, let eos = eosID, ids.last != eos, ids.count < limit { ids.append(eos) }
        if stripBOS, let bos = bosID, ids.first == bos { ids.removeFirst() }
        return ids
    }
}

/// Turns one dataset row into tokenized examples (several for long completion texts).
public protocol DatasetPromptStrategy: Sendable {
    /// The examples of `row`.
    func tokenize(_ row: DatasetRow) throws -> [TokenizedExample]
}
