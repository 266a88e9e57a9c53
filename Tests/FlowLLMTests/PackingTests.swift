import Foundation
import Testing
import FlowLLM

private func example(_ length: Int, tag: Int32) -> TokenizedExample {
    let ids = (0..<Int32(length)).map { tag * 1000 + $0 }
    return TokenizedExample(inputIDs: ids, labels: ids.enumerated().map { $0.offset == 0 ? -100 : $0.element }, sourceLine: Int(tag))
}

@Test func firstFitPacksInGivenOrder() {
    // By hand, capacity 10: 3 → bin 0 (7 left); 8 → bin 1; 5 → bin 0 (2 left); 2 → bin 0 (full).
    // First-fit-decreasing would give [[8, 2], [5, 3]] instead.
    #expect(SamplePacker.firstFit(lengths: [3, 8, 5, 2], capacity: 10) == [[0, 2, 3], [1]])
    #expect(SamplePacker.firstFit(lengths: [6, 5, 4, 3, 2, 1], capacity: 10) == [[0, 2], [1, 3, 4], [5]])
}

@Test func packedRowsKeepExampleBoundariesAndRestartPositions() {
    let examples = [example(3, tag: 1), example(8, tag: 2), example(5, tag: 3), example(2, tag: 4)]
    let packed = PreparedSplit(examples: examples, packing: true, sequenceLen: 10)
    #expect(packed.rowCount == 2 && packed.exampleCount == 4)
    let row = packed.row(0)
    #expect(row.exampleStarts == [0, 3, 8])
    #expect(row.positions == [0, 1, 2, 0, 1, 2, 3, 4, 0, 1])
    #expect(row.inputIDs == examples[0].inputIDs + examples[2].inputIDs + examples[3].inputIDs)
    // Every token's example, from the boundaries, holds only that example's ids: no token of one sample
    // lies in another's attention window.
    let batch = packed.batch(rows: [0, 1], padID: 0)
    #expect(batch.length == 10)
    for r in 0..<batch.batchSize {
        for t in 0..<batch.length where batch.segmentIDs[r * batch.length + t] >= 0 {
            for u in 0...t where batch.segmentIDs[r * batch.length + u] == batch.segmentIDs[r * batch.length + t] {
                #expect(batch.inputIDs[r * batch.length + u] / 1000 == batch.inputIDs[r * batch.length + t] / 1000)
            }
        }
    }
    #expect(Array(batch.segmentIDs[10..<20]) == [0, 0, 0, 0, 0, 0, 0, 0, -1, -1])
    #expect(Array(batch.labels[18..<20]) == [-100, -100])
}

@Test func packedAndUnpackedCarryTheSameExamples() {
    let examples = (0..<40).map { example(2 + ($0 * 7) % 11, tag: Int32($0 + 1)) }
    let packed = PreparedSplit(examples: examples, packing: true, sequenceLen: 16)
    let plain = PreparedSplit(examples: examples, packing: false, sequenceLen: 16)
    #expect(plain.rowCount == 40 && packed.rowCount < 40)
    let fromPacked = (0..<packed.exampleCount).map(packed.example).sorted { $0.sourceLine < $1.sourceLine }
    let fromPlain = (0..<plain.exampleCount).map(plain.example)
    #expect(fromPacked == fromPlain && fromPlain == examples)
    #expect(packed.tokens.count == plain.tokens.count && packed.trainedTokenCount == plain.trainedTokenCount)
    for r in 0..<packed.rowCount { #expect(packed.row(r).inputIDs.count <= 16) }
}

@Test func datasetShuffleIsSeededAndAPermutation() {
    var a = DatasetShuffle(seed: 42), b = DatasetShuffle(seed: 42), c = DatasetShuffle(seed: 43)
    let items = Array(0..<100)
    let sa = a.shuffled(items), sb = b.shuffled(items), sc = c.shuffled(items)
    #expect(sa == sb && sa != sc && sa.sorted() == items && sa != items)
    // numpy.random.default_rng(42).permutation(10), printed by numpy 2.4.6.
    var numpy = DatasetShuffle(seed: 42)
    #expect(numpy.permutation(10) == [5, 6, 0, 7, 3, 2, 4, 9, 1, 8])
}
