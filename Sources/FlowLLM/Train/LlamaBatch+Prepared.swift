extension LlamaBatch {
    /// The model's view of a prepared batch: segment ids keep attention and the label shift within each example.
    public init(prepared b: PreparedBatch) throws {
        try self.init(rows: b.batchSize, length: b.length, tokens: b.inputIDs, labels: b.labels, sequenceIDs: b.segmentIDs,
                      positions: b.positions)
    }

    /// Positions that are scored (a next label of the same sample that is not -100).
    public var trainedTokenCount: Int { shiftedTargets.reduce(0) { $0 + ($1 == Self.ignoreIndex ? 0 : 1) } }
}
