/// `stats.json`: what preprocessing kept, dropped and why, and how well packing filled rows.
public struct PreprocessingStats: Codable, Sendable, Equatable {
    /// One bucket of the token-length histogram: lengths in `from...to` (`to` nil: over sequence_len).
    public struct LengthBucket: Codable, Sendable, Equatable {
        public var from: Int, to: Int?, count: Int
    }

    public var rowsRead = 0
    public var examplesTokenized = 0
    public var examplesKept = 0
    /// Dropped examples by reason (`ExampleDropReason` raw values).
    public var dropped: [String: Int] = [:]
    public var truncated = 0
    public var trainExamples = 0, evalExamples = 0, trainRows = 0, evalRows = 0
    public var trainTokens = 0, trainedTokens = 0
    /// Share of train tokens the loss sees.
    public var trainedTokenShare = 0.0
    /// Train tokens / (train rows × sequence_len): 1 is perfectly full rows.
    public var packingEfficiency = 0.0
    /// Lengths of all tokenized examples before filtering.
    public var lengthHistogram: [LengthBucket] = []
    /// Things worth knowing that did not stop preparation (e.g. `tokens` missing from the vocabulary).
    public var warnings: [String] = []

    /// Empty stats.
    public init() {}

    /// A histogram of `lengths` in 16 equal buckets up to `sequenceLen` plus one for longer.
    public static func histogram(_ lengths: [Int], sequenceLen: Int) -> [LengthBucket] {
        let width = max(1, (sequenceLen + 15) / 16)
        var buckets = stride(from: 1, through: sequenceLen, by: width).map {
            LengthBucket(from: $0, to: min($0 + width - 1, sequenceLen), count: 0)
        }
        buckets.append(LengthBucket(from: sequenceLen + 1, to: nil, count: 0))
        for length in lengths {
            let index = length > sequenceLen ? buckets.count - 1 : max(0, (length - 1) / width)
            buckets[index].count += 1
        }
        return buckets
    }
}
