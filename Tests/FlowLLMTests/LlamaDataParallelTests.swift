import Foundation
import Testing
@testable import FlowLLM

/// `forwardBackward` with the batch's rows split over threads: the same loss and gradients as one thread (and as
/// torch), deterministic, and adding into the gradients as `backward` does.
@Suite struct LlamaDataParallelTests {
    @Test func rowsOfABatchAreBatchesOfTheirOwn() throws {
        let batch = try LlamaFixtures.packedBatch()  // row 0: samples A + B, row 1: sample C + padding
        let second = batch.rows(1..<2)
        #expect(second.rows == 1 && second.length == batch.length)
        #expect(second.tokens == Array(batch.tokens[batch.length...]))
        #expect(second.labels == Array(batch.labels[batch.length...]))
        #expect(second.positions == Array(batch.positions[batch.length...]))
        #expect(second.samples == batch.samples.filter { $0.lowerBound >= batch.length }.map { ($0.lowerBound - batch.length)..<($0.upperBound - batch.length) })
        let first = batch.rows(0..<1)
        #expect(first.samples.count == 2)  // A and B stay separate samples
        #expect(first.trainedTokenCount + second.trainedTokenCount == batch.trainedTokenCount)
    }

    /// Full fine-tuning over two threads gives torch's gradients, and a one-thread step's within float rounding.
    @Test func fullFineTuningSplitOverRowsMatchesTorchAndOneThread() throws {
        let batch = try LlamaFixtures.packedBatch()
        let weights = try LlamaFixtures.tinyWeights()
        let one = LlamaModel(weights: weights, trainsBaseWeights: true, threads: ComputeThreads(count: 1))
        let lossOne = try one.forwardBackward(batch)
        let two = LlamaModel(weights: weights, trainsBaseWeights: true, threads: ComputeThreads(count: 2))
        let lossTwo = try two.forwardBackward(batch)
        #expect(two.replicas.count == 2, "the step ran on two replicas")
        #expect(abs(lossOne.sum - lossTwo.sum) <= 1e-6 * abs(lossOne.sum) && lossOne.count == lossTwo.count)
        #expect(lossOne.perSample.map(\.count) == lossTwo.perSample.map(\.count))
        for (a, b) in zip(lossOne.perSample, lossTwo.perSample) { #expect(abs(a.sum - b.sum) <= 1e-6 * abs(a.sum)) }
        try LlamaBackwardTests.expectGradientsMatch(two, reference: LlamaFixtures.file("full-grads.safetensors"), prefix: "")
        for (a, b) in zip(try #require(one.gradients).namedTensors, try #require(two.gradients).namedTensors) {
            #expect(relativeError(b.tensor, a.tensor) <= 1e-6, "\(a.name)")
        }
    }

    @Test func loraSplitOverRowsMatchesPEFTAndAddsIntoTheGradients() throws {
        let batch = try LlamaFixtures.packedBatch()
        let weights = try LlamaFixtures.tinyWeights()
        let model = LlamaModel(weights: weights, adapter: try LlamaLoRATests.peftAdapter(config: weights.config),
                               threads: ComputeThreads(count: 2))
        let loss = try model.forwardBackward(batch)
        let reference = try LlamaFixtures.file("lora-reference.safetensors")
        let gradients = try #require(model.adapterGradients).namedTensors
        for (name, gradient) in gradients {
            let error = relativeError(gradient, try reference.tensor("grad." + name))
            #expect(error <= 1e-4, "gradient of \(name): relative error \(error)")
        }
        // a second step with half the scale each time adds up to the first (gradient accumulation)
        let once = gradients.map { $0.tensor.copy() }
        model.zeroGradients()
        for _ in 0..<2 { try model.forwardBackward(batch, lossScale: 0.5 / Float(loss.count)) }
        for (a, b) in zip(try #require(model.adapterGradients).namedTensors, once) {
            #expect(relativeError(a.tensor, b) <= 1e-6, "\(a.name)")
        }
    }

    /// A batch of `rows` random rows, each two packed samples, on the numerics fixture's vocabulary.
    static func randomBatch(rows: Int, length: Int = 24, seed: UInt64) throws -> LlamaBatch {
        var random = TensorRandom(seed: seed)
        let n = rows * length
        let tokens = (0..<n).map { _ in Int32(random.next() % 64) }
        let labels = tokens.enumerated().map { $0.offset % 5 == 0 ? LlamaBatch.ignoreIndex : $0.element }
        let ids = (0..<n).map { Int32(($0 % length) < length / 3 ? 0 : 1) }
        return try LlamaBatch(rows: rows, length: length, tokens: tokens, labels: labels, sequenceIDs: ids)
    }

    /// Uneven parts (3 rows over 2 threads), fewer rows than threads (2 rows over 4: two threads per part), and the
    /// replicas reused for another batch size: always a one-thread step's loss and gradients.
    @Test(arguments: [(3, 2), (2, 4), (5, 3)])
    func anyRowCountOverAnyThreadCountMatchesOneThread(rows: Int, threads: Int) throws {
        let weights = try LlamaFixtures.tinyWeights()
        let split = LlamaModel(weights: weights, trainsBaseWeights: true, threads: ComputeThreads(count: threads))
        for (round, rowCount) in [rows, rows + 1, rows].enumerated() {
            let batch = try Self.randomBatch(rows: rowCount, seed: UInt64(round + 1))
            let one = LlamaModel(weights: weights, trainsBaseWeights: true, threads: ComputeThreads(count: 1))
            let expected = try one.forwardBackward(batch)
            split.zeroGradients()
            let got = try split.forwardBackward(batch)
            #expect(split.replicas.count == min(threads, rowCount))
            #expect(split.replicas.allSatisfy { $0.threads.count == threads / min(threads, rowCount) })
            #expect(abs(got.sum - expected.sum) <= 1e-6 * abs(expected.sum) && got.count == expected.count)
            #expect(got.perSample.map(\.count) == expected.perSample.map(\.count))
            for (a, b) in zip(try #require(one.gradients).namedTensors, try #require(split.gradients).namedTensors) {
                #expect(relativeError(b.tensor, a.tensor) <= 1e-5, "\(rowCount) rows over \(threads) threads: \(a.name)")
            }
        }
    }

    @Test func eachPartDrawsItsOwnDropoutMasks() throws {
        // two identical rows: with the same masks in both parts their gradients would be equal halves of the whole
        let weights = try LlamaFixtures.tinyWeights()
        let single = try Self.randomBatch(rows: 1, seed: 3)
        let twice = try LlamaBatch(rows: 2, length: single.length, tokens: single.tokens + single.tokens,
                                   labels: single.labels + single.labels, positions: single.positions + single.positions)
        var lora = try LlamaLoRATests.peftAdapter(config: weights.config).config
        lora.dropout = 0.5
        for seed in [1, nil] as [UInt64?] {  // a given seed, or the model's own generator
            let model = LlamaModel(weights: weights, adapter: LoRAAdapter.initialized(lora, base: weights, seed: 5),
                                   threads: ComputeThreads(count: 2))
            try model.forwardBackward(twice, dropoutSeed: seed)
            let parts = model.replicas.map { $0.adapterGradients?.namedTensors.flatMap { $0.tensor.values } }
            #expect(parts.count == 2)
            #expect(parts[0] != nil && parts[1] != nil && parts[0] != parts[1], "seed \(String(describing: seed))")
        }
    }

    @Test func theSameSeedGivesTheSameBitsWithDropout() throws {
        let batch = try LlamaFixtures.packedBatch()
        let weights = try LlamaFixtures.tinyWeights()
        var lora = try LlamaLoRATests.peftAdapter(config: weights.config).config
        lora.dropout = 0.3
        func gradients(seed: UInt64) throws -> [Float] {
            let adapter = LoRAAdapter.initialized(lora, base: weights, seed: 5)
            let model = LlamaModel(weights: weights, adapter: adapter, threads: ComputeThreads(count: 2))
            try model.forwardBackward(batch, dropoutSeed: seed)
            return try #require(model.adapterGradients).namedTensors.flatMap { $0.tensor.values }
        }
        let a = try gradients(seed: 9), b = try gradients(seed: 9), c = try gradients(seed: 10)
        #expect(TrainerTests.sameBits(a, b))
        #expect(!TrainerTests.sameBits(a, c))
    }
}
