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
