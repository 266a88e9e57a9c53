/// One item to evaluate: the prompt the model continues, the answer it should give, and the dataset row it
/// came from (when known), so checks can read fields such as sqlqa's `context`.
public struct EvalCase: Sendable, Equatable {
    /// The prompt as text (for display, for checks, and for generation when `promptIDs` is nil).
    public var prompt: String
    /// The exact prompt tokens the model saw in training (BOS included); nil to encode `prompt` instead.
    public var promptIDs: [Int32]?
    /// The reference answer.
    public var expected: String
    /// The raw fields of the dataset row; empty when the case came from token data alone.
    public var fields: [String: DatasetValue]
    /// Where the case came from, for messages and `predictions.jsonl` (`file:line`, or split and example).
    public var source: String

    /// A case; give `promptIDs` to skip re-encoding `prompt`, and `fields` for checks that read the row.
    public init(prompt: String, expected: String, promptIDs: [Int32]? = nil, fields: [String: DatasetValue] = [:],
                source: String = "") {
        self.prompt = prompt
        self.expected = expected
        self.promptIDs = promptIDs
        self.fields = fields
        self.source = source
    }

    /// The text of the row field `name`, when the case has it.
    public func field(_ name: String) -> String? { fields[name]?.text }
}

/// A tokenized example split where training starts: the masked prefix is the prompt, the first run of
/// trained tokens (a trailing EOS dropped) is the answer. Multi-turn chats yield their first trained turn.
struct PromptAnswerSplit {
    /// The prompt tokens (everything before the first trained token).
    var promptIDs: [Int32]
    /// The answer tokens, without EOS.
    var answerIDs: [Int32]

    /// The split of `example`, or nil when nothing is masked before the first trained token (a completion
    /// dataset, `train_on_inputs: true`) or nothing is trained.
    init?(_ example: TokenizedExample, eosID: Int32?) {
        let ignored = TokenizedExample.ignoredLabel
        guard let first = example.labels.firstIndex(where: { $0 != ignored }), first > 0 else { return nil }
        let end = example.labels[first...].firstIndex(of: ignored) ?? example.labels.count
        var answer = Array(example.inputIDs[first..<end])
        if let eosID, answer.last == eosID { answer.removeLast() }
        promptIDs = Array(example.inputIDs[..<first])
        answerIDs = answer
    }
}
