import Foundation
import Testing
@testable import FlowLLM

@Suite struct LlamaForwardTests {
    /// Compares flow's logits over the packed batch with Hugging Face's logits of each sample run alone.
    static func expectLogitsMatch(_ model: LlamaModel, reference: SafeTensorsFile, tolerance: Float = 1e-5) throws {
        let expected = try reference.tensor("logits")
        let logits = try #require(model.logits)
        let v = model.config.vocabSize
        for sample in try LlamaFixtures.sampleRanges() {
            let got = UnsafeBufferPointer(start: logits.data + sample.lowerBound * v, count: sample.count * v)
            let want = UnsafeBufferPointer(start: expected.data + sample.lowerBound * v, count: sample.count * v)
            let error = relativeError(got, want)
            #expect(error <= tolerance, "logits of sample at \(sample): relative error \(error)")
        }
    }

    static func expectLossMatches(_ loss: LlamaLoss, reference: SafeTensorsFile) throws {
        let expected = try reference.tensor("loss").values[0]
        #expect(abs(Float(loss.mean) - expected) / expected <= 1e-5, "loss \(loss.mean) vs \(expected)")
        let sums = try reference.tensor("per_sample_loss_sum").values
        let counts = try reference.tensor("per_sample_count").values
        // Samples A, B, C, then the padding of row 1, which is scored nowhere.
        #expect(loss.perSample.count == 4)
        #expect(loss.perSample.last?.count == 0)
        for i in 0..<3 {
            #expect(loss.perSample[i].count == Int(counts[i]))
            #expect(abs(Float(loss.perSample[i].sum) - sums[i]) / sums[i] <= 1e-5)
        }
    }

    @Test func logitsAndLossMatchTransformers() throws {
        let model = LlamaModel(weights: try LlamaFixtures.tinyWeights())
        let loss = try model.forward(LlamaFixtures.packedBatch())
        let reference = try LlamaFixtures.file("forward.safetensors")
        try Self.expectLogitsMatch(model, reference: reference)
        try Self.expectLossMatches(loss, reference: reference)
    }

    /// Tied embeddings (no lm_head in the file) and Llama 3 rope scaling read from transformers 5's rope_parameters.
    @Test func tiedModelWithLlama3RoPEMatchesTransformers() throws {
        let directory = try LlamaFixtures.url("tiny-llama-tied")
        let weights = try LlamaModel.loadWeights(from: directory)
        #expect(weights.lmHead == nil)
        #expect(weights.config.ropeScaling?.factor == 8)
        let model = LlamaModel(weights: weights)
        let loss = try model.forward(LlamaFixtures.packedBatch())
        let reference = try LlamaFixtures.file("tied-reference.safetensors")
        try Self.expectLogitsMatch(model, reference: reference)
        try Self.expectLossMatches(loss, reference: reference)
    }

    /// Each sample run alone (one row, no padding) gives the loss sum and logits it gets inside the packed batch.
    @Test func packedBatchEqualsSamplesRunAlone() throws {
        let packed = try LlamaFixtures.packedBatch()
        let model = LlamaModel(weights: try LlamaFixtures.tinyWeights())
        let packedLoss = try model.forward(packed)
        let packedLogits = try #require(model.logits).copy()
        let v = model.config.vocabSize
        for (i, range) in try LlamaFixtures.sampleRanges().enumerated() {
            let alone = try LlamaBatch(rows: 1, length: range.count, tokens: Array(packed.tokens[range]),
                                       labels: Array(packed.labels[range]))
            let loss = try model.forward(alone)
            #expect(loss.count == packedLoss.perSample[i].count)
            #expect(abs(loss.sum - packedLoss.perSample[i].sum) <= 1e-5 * abs(loss.sum))
            let logits = try #require(model.logits)
            let error = relativeError(UnsafeBufferPointer(logits.buffer),
                                      UnsafeBufferPointer(start: packedLogits.data + range.lowerBound * v, count: range.count * v))
            #expect(error <= 1e-6)
        }
    }

    /// A BF16 checkpoint loads as the exact F32 values of its BF16 numbers.
    @Test func loadsBF16AndF16Checkpoints() throws {
        let f32 = try LlamaFixtures.tinyWeights()
        for (name, convert) in [("tiny-llama-bf16.safetensors", { FloatConversion.float(bfloat16Bits: FloatConversion.bfloat16Bits($0)) }),
                                ("tiny-llama-f16.safetensors", { FloatConversion.float(float16Bits: FloatConversion.float16Bits($0)) })] {
            let weights = try LlamaWeights.load(from: LlamaFixtures.file(name), config: f32.config)
            for (a, b) in zip(weights.namedTensors, f32.namedTensors) {
                #expect(a.tensor.values == b.tensor.values.map(convert), "\(name) \(a.name)")
            }
        }
    }

    @Test func refusesWeightsThatDoNotMatchTheConfig() throws {
        var config = try LlamaFixtures.tinyWeights().config
        config.intermediateSize = 48
        let error = try #require(throws: SafeTensorsError.self) {
            try LlamaWeights.load(from: ShardedSafeTensors(directory: LlamaFixtures.url("tiny-llama")), config: config)
        }
        #expect(error.kind == .shapeMismatch)
        #expect(error.tensor == "model.layers.0.mlp.gate_proj.weight")
    }

    @Test func refusesTokensOutsideTheVocabulary() throws {
        let model = LlamaModel(weights: try LlamaFixtures.tinyWeights())
        let batch = try LlamaBatch(rows: 1, length: 3, tokens: [1, 64, 2])
        #expect(throws: LlamaModelError.self) { try model.forward(batch) }
    }

    @Test func configRoundTripsThroughJSON() throws {
        let config = try LlamaConfig.load(from: LlamaFixtures.url("tiny-llama-tied/config.json"))
        let decoded = try JSONDecoder().decode(LlamaConfig.self, from: JSONEncoder().encode(config))
        #expect(decoded == config)
        #expect(config.headDim == 8 && config.numKeyValueHeads == 2 && config.tieWordEmbeddings)
    }
}
