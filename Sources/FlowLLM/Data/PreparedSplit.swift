/// One training sequence of a prepared split: one example, or several packed ones.
public struct PreparedRow: Sendable, Equatable {
    /// Token ids.
    public var inputIDs: [Int32]
    /// Labels (`TokenizedExample.ignoredLabel` where masked).
    public var labels: [Int32]
    /// Position ids, restarting at 0 at each example.
    public var positions: [Int32]
    /// Where each example starts in the row (first is 0); a token attends only within its example.
    public var exampleStarts: [Int]
}

/// A fixed-shape batch for the trainer: `batchSize × length`, row-major, padded at the end of rows.
public struct PreparedBatch: Sendable, Equatable {
    /// Rows in the batch, and tokens per row.
    public var batchSize: Int, length: Int
    /// Ids (padding: the pad id), labels (padding: ignored), positions (padding: 0).
    public var inputIDs: [Int32], labels: [Int32], positions: [Int32]
    /// The example each token belongs to within its row (−1 for padding): token i may attend token j ≤ i
    /// of the same row only when their segment ids are equal.
    public var segmentIDs: [Int32]
}

/// A prepared split held in memory as flat arrays, the layout of its files.
///
/// `tokens`, `labels`, `positions`: one entry per token, rows laid end to end. `exampleOffsets`: n + 1
/// offsets into the token arrays where each example starts (last = token count). `rowOffsets`: m + 1
/// offsets where each row starts; every row offset is also an example offset.
public struct PreparedSplit: Sendable, Equatable {
    /// One entry per token.
    public var tokens: [Int32] = [], labels: [Int32] = [], positions: [Int32] = []
    /// Token offsets where examples and rows start, each ending with the token count.
    public var exampleOffsets: [Int64] = [0], rowOffsets: [Int64] = [0]
    /// The dataset line each example came from.
    public var sourceLines: [Int32] = []

    /// An empty split.
    public init() {}

    /// `examples` laid out one a row, or packed first-fit into rows of `sequenceLen` when `packing`.
    public init(examples: [TokenizedExample], packing: Bool, sequenceLen: Int) {
        let bins = packing
            ? SamplePacker.firstFit(lengths: examples.map(\.inputIDs.count), capacity: sequenceLen)
            : examples.indices.map { [$0] }
        let total = examples.reduce(0) { $0 + $1.inputIDs.count }
        tokens.reserveCapacity(total); labels.reserveCapacity(total); positions.reserveCapacity(total)
        for bin in bins {
            for index in bin {
                let e = examples[index]
                tokens += e.inputIDs
                labels += e.labels
                positions += (0..<Int32(e.inputIDs.count))
                exampleOffsets.append(Int64(tokens.count))
                sourceLines.append(Int32(clamping: e.sourceLine))
            }
            rowOffsets.append(Int64(tokens.count))
        }
    }

    /// Number of examples.
    public var exampleCount: Int { exampleOffsets.count - 1 }
    /// Number of rows (training sequences).
    public var rowCount: Int { rowOffsets.count - 1 }
    /// Tokens the loss sees.
    public var trainedTokenCount: Int { labels.reduce(0) { $0 + ($1 == TokenizedExample.ignoredLabel ? 0 : 1) } }

    /// Example `i`, as tokenized.
    public func example(_ i: Int) -> TokenizedExample {
        let range = Int(exampleOffsets[i])..<Int(exampleOffsets[i + 1])
        return TokenizedExample(inputIDs: Array(tokens[range]), labels: Array(labels[range]),
                                sourceLine: i < sourceLines.count ? Int(sourceLines[i]) : 0)
    }

    /// Row `i`, with its example boundaries.
    public func row(_ i: Int) -> PreparedRow {
        let start = rowOffsets[i], end = rowOffsets[i + 1]
        let range = Int(start)..<Int(end)
        var starts: [Int] = []
        // Offsets are sorted: find the first example offset at or after the row start.
        var lo = 0, hi = exampleOffsets.count - 1
        while lo < hi { let mid = (lo + hi) / 2; if exampleOffsets[mid] < start { lo = mid + 1 } else { hi = mid } }
        while lo < exampleOffsets.count - 1, exampleOffsets[lo] < end { starts.append(Int(exampleOffsets[lo] - start)); lo += 1 }
        return PreparedRow(inputIDs: Array(tokens[range]), labels: Array(labels[range]),
                           positions: Array(positions[range]), exampleStarts: starts)
    }

    /// Rows `indices` as a batch padded to `padTo` (or to the longest row) with `padID`.
    public func batch(rows indices: [Int], padTo: Int? = nil, padID: Int32) -> PreparedBatch {
        let rows = indices.map(row)
        let length = max(padTo ?? 0, rows.map(\.inputIDs.count).max() ?? 0)
        var b = PreparedBatch(batchSize: rows.count, length: length, inputIDs: [], labels: [], positions: [], segmentIDs: [])
        for r in rows {
            let pad = length - r.inputIDs.count
            b.inputIDs += r.inputIDs + [Int32](repeating: padID, count: pad)
            b.labels += r.labels + [Int32](repeating: TokenizedExample.ignoredLabel, count: pad)
            b.positions += r.positions + [Int32](repeating: 0, count: pad)
            var segments = [Int32](repeating: -1, count: length)
            for (s, start) in r.exampleStarts.enumerated() {
                let end = s + 1 < r.exampleStarts.count ? r.exampleStarts[s + 1] : r.inputIDs.count
                for t in start..<end { segments[t] = Int32(s) }
            }
            b.segmentIDs += segments
        }
        return b
    }
}
