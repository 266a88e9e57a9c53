/// A packed training batch: `rows` × `length` tokens where each row holds one or more samples back to back.
///
/// Label convention (the same as Hugging Face's `LlamaForCausalLM`, applied per sample): `labels` are
/// aligned with `tokens` (unshifted; -100 = not trained), and the logits at position t are scored against
/// the label at t + 1 *of the same sample*. The last token of a sample predicts nothing, so a packed row
/// gives exactly the losses its samples give when run alone. Padding is a sample whose labels are all -100.
public struct LlamaBatch: Sendable {
    /// The label value that is not trained on, as in PyTorch's `ignore_index`.
    public static let ignoreIndex: Int32 = -100

    /// Rows in the batch.
    public let rows: Int
    /// Tokens per row.
    public let length: Int
    /// Token ids, `[rows * length]`.
    public let tokens: [Int32]
    /// Positions for rotary embeddings, restarting at 0 for each sample, `[rows * length]`.
    public let positions: [Int32]
    /// Labels aligned with `tokens` (not shifted), `[rows * length]`.
    public let labels: [Int32]
    /// The samples: contiguous token ranges in the flattened `[rows * length]` index space, in order.
    public let samples: [Range<Int>]

    /// A batch whose samples are the maximal runs of equal `sequenceIDs` within each row; `positions`
    /// default to 0, 1, 2, … within each sample.
    public init(rows: Int, length: Int, tokens: [Int32], labels: [Int32]? = nil, sequenceIDs: [Int32]? = nil,
                positions: [Int32]? = nil) throws {
        let n = rows * length
        guard rows > 0, length > 0 else { throw LlamaModelError("batch: rows (\(rows)) and length (\(length)) must be positive") }
        guard tokens.count == n else { throw LlamaModelError("batch: \(tokens.count) tokens for \(rows) × \(length)") }
        let labels = labels ?? [Int32](repeating: Self.ignoreIndex, count: n)
        let ids = sequenceIDs ?? [Int32](repeating: 0, count: n)
        guard labels.count == n, ids.count == n else {
            throw LlamaModelError("batch: labels (\(labels.count)) and sequence ids (\(ids.count)) must each hold \(n) entries")
        }
        var samples: [Range<Int>] = []
        for r in 0..<rows {
            var start = r * length
            for i in (r * length + 1)...(r * length + length) where i == r * length + length || ids[i] != ids[i - 1] {
                samples.append(start..<i)
                start = i
            }
        }
        var computed = [Int32](repeating: 0, count: n)
        for s in samples { for i in s { computed[i] = Int32(i - s.lowerBound) } }
        if let positions { guard positions.count == n else { throw LlamaModelError("batch: \(positions.count) positions for \(n) tokens") } }
        self.rows = rows
        self.length = length
        self.tokens = tokens
        self.labels = labels
        self.positions = positions ?? computed
        self.samples = samples
    }

    /// Rows `range` of this batch as a batch of their own (their samples, positions and labels unchanged).
    public func rows(_ range: Range<Int>) -> LlamaBatch {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows && !range.isEmpty, "rows \(range) of a \(rows)-row batch")
        let from = range.lowerBound * length, to = range.upperBound * length
        return LlamaBatch(rows: range.count, length: length, tokens: Array(tokens[from..<to]), positions: Array(positions[from..<to]),
                          labels: Array(labels[from..<to]),
                          samples: samples.filter { $0.lowerBound >= from && $0.upperBound <= to }.map { ($0.lowerBound - from)..<($0.upperBound - from) })
    }

    private init(rows: Int, length: Int, tokens: [Int32], positions: [Int32], labels: [Int32], samples: [Range<Int>]) {
        self.rows = rows
        self.length = length
        self.tokens = tokens
        self.positions = positions
        self.labels = labels
        self.samples = samples
    }

    /// Convenience: one row per sample, each padded on the right to the longest with `padToken` (labels -100).
    public static func unpacked(_ sequences: [(tokens: [Int32], labels: [Int32])], padToken: Int32 = 0) throws -> LlamaBatch {
        let length = sequences.map(\.tokens.count).max() ?? 0
        var tokens: [Int32] = [], labels: [Int32] = [], ids: [Int32] = []
        for s in sequences {
            let pad = length - s.tokens.count
            tokens += s.tokens + [Int32](repeating: padToken, count: pad)
            labels += s.labels + [Int32](repeating: ignoreIndex, count: pad)
            ids += [Int32](repeating: 0, count: s.tokens.count) + [Int32](repeating: 1, count: pad)
        }
        return try LlamaBatch(rows: sequences.count, length: length, tokens: tokens, labels: labels, sequenceIDs: ids)
    }

    /// For each position, the label it is scored against: the next label of the same sample, else -100.
    public var shiftedTargets: [Int32] {
        var out = [Int32](repeating: Self.ignoreIndex, count: tokens.count)
        for s in samples where s.count > 1 {
            for i in s.lowerBound..<(s.upperBound - 1) { out[i] = labels[i + 1] }
        }
        return out
    }
}
