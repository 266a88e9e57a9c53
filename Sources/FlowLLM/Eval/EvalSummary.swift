/// The numbers of one evaluation, as `metrics.json` holds them.
public struct EvalSummary: Sendable, Equatable, Codable {
    /// Cases evaluated.
    public var count: Int
    /// The share of outputs equal to the expected answer (whitespace-trimmed), 0 to 1.
    public var exactMatch: Double
    /// Each check's share of passing outputs (`exact_match` included), 0 to 1.
    public var passRates: [String: Double]
    /// Each check's number of passing outputs.
    public var passed: [String: Int]
    /// How many generations ended for each reason (`eos`, `length`, `stop`).
    public var finishReasons: [String: Int]
    /// Tokens generated over all cases.
    public var generatedTokens: Int
    /// Seconds spent generating (prefill and decode), over all cases.
    public var generationSeconds: Double
    /// `generatedTokens / generationSeconds`.
    public var tokensPerSecond: Double
    /// The beams of the beam search that decoded the outputs (1: greedy); nil in files written before it was recorded.
    public var numBeams: Int?

    enum CodingKeys: String, CodingKey {
        case count, passed
        case exactMatch = "exact_match", passRates = "pass_rates", finishReasons = "finish_reasons"
        case generatedTokens = "generated_tokens", generationSeconds = "generation_seconds"
        case tokensPerSecond = "tokens_per_second", numBeams = "num_beams"
    }

    /// The summary of `predictions`, generated in `seconds` in all.
    init(predictions: [EvalPrediction], checks: [String], seconds: Double, numBeams: Int? = nil) {
        self.numBeams = numBeams
        let count = predictions.count
        passed = Dictionary(uniqueKeysWithValues: checks.map { name in
            (name, predictions.filter { $0.checks[name]?.passed == true }.count)
        })
        passRates = passed.mapValues { count == 0 ? 0 : Double($0) / Double(count) }
        exactMatch = passRates[EvalCheck.exactMatch.name] ?? 0
        self.count = count
        finishReasons = Dictionary(predictions.map { ($0.finishReason, 1) }, uniquingKeysWith: +)
        generatedTokens = predictions.reduce(0) { $0 + $1.completionTokens }
        generationSeconds = seconds
        tokensPerSecond = seconds > 0 ? Double(generatedTokens) / seconds : 0
    }

    /// The run metrics the engine stores: `count`, each check's pass rate by its name, `tokens_per_second`.
    public var metrics: [String: Double] {
        var metrics = passRates
        metrics["count"] = Double(count)
        metrics["tokens_per_second"] = tokensPerSecond
        return metrics
    }
}
