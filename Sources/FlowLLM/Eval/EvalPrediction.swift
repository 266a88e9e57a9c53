/// One line of `predictions.jsonl`: a case, what the model generated for it, and every check's verdict.
public struct EvalPrediction: Sendable, Equatable, Codable {
    /// The case's position among the cases evaluated (0-based).
    public var index: Int
    /// Where the case came from (`file:line`, or split and example).
    public var source: String
    /// The prompt text.
    public var prompt: String
    /// The reference answer.
    public var expected: String
    /// The generated text (special tokens and EOS not included).
    public var output: String
    /// Why generation ended: `eos`, `length` (hit max tokens) or `stop`.
    public var finishReason: String
    /// Tokens generated.
    public var completionTokens: Int
    /// Each check's verdict, by check name.
    public var checks: [String: EvalVerdict]

    enum CodingKeys: String, CodingKey {
        case index, source, prompt, expected, output, checks
        case finishReason = "finish_reason", completionTokens = "completion_tokens"
    }
}
