import Foundation
import Testing
@testable import FlowLLM

/// Full fine-tuning: the hand-written backward pass against torch's autograd for every base weight.
@Suite struct LlamaBackwardTests {
    static func expectGradientsMatch(_ model: LlamaModel, reference: SafeTensorsFile, prefix: String) throws {
        let gradients = try #require(model.gradients)
        for (name, gradient) in gradients.namedTensors {
            let expected = try reference.tensor(prefix + name)
            let error = relativeError(gradient, expected)
            #expect(error <= 1e-4, "gradient of \(name): relative error \(error)")
        }
    }

    @Test func fullFineTuningGradientsMatchTorch() throws {
        let model = LlamaModel(weights: try LlamaFixtures.tinyWeights(), trainsBaseWeights: true)
        try model.forward(LlamaFixtures.packedBatch(), training: true)
        try model.backward()
        try Self.expectGradientsMatch(model, reference: LlamaFixtures.file("full-grads.safetensors"), prefix: "")
    }

    /// 150 tokens: attention runs over several causal blocks; logits, loss and gradients still match torch.
    @Test func longSequenceMatchesTorch() throws {
        let reference = try LlamaFixtures.file("long-sequence.safetensors")
        let tokens = try reference.tensor("tokens").values.map { Int32($0) }
        let model = LlamaModel(weights: try LlamaFixtures.tinyWeights(), trainsBaseWeights: true)
        let loss = try model.forward(LlamaBatch(rows: 1, length: tokens.count, tokens: tokens, labels: tokens), training: true)
        let expectedLoss = try reference.tensor("loss").values[0]
        #expect(abs(Float(loss.mean) - expectedLoss) <= 1e-5 * expectedLoss)
        let logitsError = relativeError(try #require(model.logits), try reference.tensor("logits"))
        #expect(logitsError <= 1e-5, "logits: relative error \(logitsError)")
        try model.backward()
        try Self.expectGradientsMatch(model, reference: reference, prefix: "grad.")
    }

    /// Tied embeddings get the gradient of both uses (input embedding and output projection).
    @Test func tiedEmbeddingGradientsMatchTorch() throws {
        let weights = try LlamaModel.loadWeights(from: LlamaFixtures.url("tiny-llama-tied"))
        let model = LlamaModel(weights: weights, trainsBaseWeights: true)
        try model.forward(LlamaFixtures.packedBatch(), training: true)
        try model.backward()
        try Self.expectGradientsMatch(model, reference: LlamaFixtures.file("tied-reference.safetensors"), prefix: "grad.")
    }

    /// Two backward passes with half the loss scale each add up to one full pass (gradient accumulation).
    @Test func backwardAccumulates() throws {
        let batch = try LlamaFixtures.packedBatch()
        let model = LlamaModel(weights: try LlamaFixtures.tinyWeights(), trainsBaseWeights: true)
        let loss = try model.forward(batch, training: true)
        try model.backward()
        let once = try #require(model.gradients).namedTensors.map { $0.tensor.copy() }
        model.zeroGradients()
        for _ in 0..<2 {
            try model.forward(batch, training: true)
            try model.backward(lossScale: 0.5 / Float(loss.count))
        }
        for (a, b) in zip(try #require(model.gradients).namedTensors, once) {
            #expect(relativeError(a.tensor, b) <= 1e-6, "\(a.name)")
        }
        #expect(throws: LlamaModelError.self) { try model.backward() }
    }
}
