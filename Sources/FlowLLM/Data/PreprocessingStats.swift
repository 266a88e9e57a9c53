/// `stats.json`: what preprocessing kept, dropped and why, and how well packing filled rows.
public struct PreprocessingStats: Codable, Sendable, Equatable {
    /// One bucket of the token-length histogram: lengths in `from...to` (`to` nil: over sequence_len).
    public struct LengthBucket: Codable, Sendable, Equatable {
        /// Lengths from `from` to `to` (inclusive), and how many examples had them.
        public var from: Int, to: Int?, count: Int
    }

    /// Rows read from the data files.
    public var rowsRead = 0
    /// Examples the rows became (completion texts give several).
    public var examplesTokenized = 0
    /// Examples left after length and label filtering.
    public var examplesKept = 0
    /// Dropped examples by reason (`ExampleDropReason` raw values).
    public var dropped: [String: Int] = [:]
    /// Examples cut to `sequence_len` (`excess_length_strategy: truncate`).
    public var truncated = 0
    /// Examples and rows of each split.
    public var trainExamples = 0, evalExamples = 0, trainRows = 0, evalRows = 0
    /// Train tokens, and those the loss sees.
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
