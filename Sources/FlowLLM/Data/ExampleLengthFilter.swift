/// Why an example was left out of the prepared data.
public enum ExampleDropReason: String, Sendable, CaseIterable, Codable {
    /// Longer than `sequence_len` with `excess_length_strategy: drop`.
    case tooLong = "longer_than_sequence_len"
    /// Shorter than `min_sample_len` (default 2).
    case tooShort = "shorter_than_min_sample_len"
    /// Every label masked: nothing to learn from.
    case noTrainedTokens = "no_trained_tokens"
}

/// Axolotl's length handling: keep `min_sample_len ≤ len ≤ sequence_len` (or truncate), then drop
/// examples whose labels are all masked.
public struct ExampleLengthFilter: Sendable {
    /// `sequence_len`, `min_sample_len`, `excess_length_strategy`.
    public let sequenceLen: Int, minLength: Int, strategy: ExcessLengthStrategy

    /// A filter.
    public init(sequenceLen: Int, minLength: Int = 2, strategy: ExcessLengthStrategy = .drop) {
        self.sequenceLen = sequenceLen
        self.minLength = minLength
        self.strategy = strategy
    }

    /// The examples kept, and how many were dropped for each reason; `raise` throws on the first long one.
    public func apply(_ examples: [TokenizedExample], file: String) throws -> (kept: [TokenizedExample], dropped: [ExampleDropReason: Int]) {
        var kept: [TokenizedExample] = []
        kept.reserveCapacity(examples.count)
        var dropped: [ExampleDropReason: Int] = [:]
        for var example in examples {
            if example.inputIDs.count > sequenceLen {
                switch strategy {
                case .drop: dropped[.tooLong, default: 0] += 1; continue
                case .truncate:
                    example.inputIDs.removeLast(example.inputIDs.count - sequenceLen)
                    example.labels.removeLast(example.labels.count - sequenceLen)
                case .raise:
                    throw DatasetError(file: file, line: example.sourceLine,
                                       "example has \(example.inputIDs.count) tokens, over sequence_len \(sequenceLen) (excess_length_strategy: raise); raise sequence_len or use drop or truncate")
                }
            }
            if example.inputIDs.count < minLength { dropped[.tooShort, default: 0] += 1; continue }
            if example.trainedTokenCount == 0 { dropped[.noTrainedTokens, default: 0] += 1; continue }
            kept.append(example)
        }
        return (kept, dropped)
    }
}
