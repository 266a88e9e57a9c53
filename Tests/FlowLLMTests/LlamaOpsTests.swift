import Foundation
import Testing
@testable import FlowLLM

/// The building blocks the reference comparisons rely on, checked on their own.
@Suite struct LlamaOpsTests {
    /// The vectorised exp stays within 2 ulp of libm's over the range softmax sees, tails included.
    @Test func vectorExpIsAccurate() {
        let count = 1003  // not a multiple of 16: exercises the padded tail
        let values = (0..<count).map { Float($0) / 10 - 80 }
        var out = values
        let sum = out.withUnsafeMutableBufferPointer { VectorMath.expInPlace($0.baseAddress!, count: count, subtracting: 0) }
        var expectedSum = 0.0
        for (x, e) in zip(values, out) {
            let reference = Foundation.exp(Double(x))
            expectedSum += reference
            #expect(abs(Double(e) - reference) <= 2 * Double(Float(reference).ulp), "exp(\(x))")
        }
        #expect(abs(Double(sum) - expectedSum) <= 1e-6 * expectedSum)
        #expect(values.withUnsafeBufferPointer { VectorMath.max($0.baseAddress!, count: count) } == values.max())
    }

    /// Fresh weights follow transformers' init: N(0, 0.02²) for matrices, ones for norms; seeded.
    @Test func randomInitialisationLikeTransformers() {
        let config = LlamaConfig(vocabSize: 256, hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2, numAttentionHeads: 4,
                                 numKeyValueHeads: 2, tieWordEmbeddings: true)
        let weights = LlamaWeights.random(config, seed: 5)
        #expect(weights.lmHead == nil)
        for (name, t) in weights.namedTensors {
            if name.hasSuffix("norm.weight") {
                #expect(t.values.allSatisfy { $0 == 1 }, "\(name)")
                continue
            }
            let mean = t.values.reduce(0, +) / Float(t.count)
            let std = (t.values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(t.count)).squareRoot()
            #expect(abs(mean) < 0.004 && abs(std - 0.02) < 0.003, "\(name): mean \(mean) std \(std)")
        }
        let again = LlamaWeights.random(config, seed: 5), other = LlamaWeights.random(config, seed: 6)
        #expect(again.embedTokens.values == weights.embedTokens.values)
        #expect(other.embedTokens.values != weights.embedTokens.values)
    }

    /// A saved checkpoint (config.json + sharded safetensors) loads back to the same weights and config.
    @Test func savedCheckpointLoadsBack() throws {
        let weights = try LlamaFixtures.tinyWeights()
        try withTemporaryDirectory { dir in
            try weights.save(to: dir, maxShardBytes: 20_000)
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors.index.json").path))
            let loaded = try LlamaModel.loadWeights(from: dir)
            #expect(loaded.config == weights.config)
            for (a, b) in zip(loaded.namedTensors, weights.namedTensors) {
                #expect(a.name == b.name && a.tensor.values == b.tensor.values)
            }
        }
    }

    /// The batch derives samples from sequence ids and restarts positions per sample.
    @Test func batchSplitsRowsIntoSamples() throws {
        let batch = try LlamaBatch(rows: 2, length: 4, tokens: [1, 2, 3, 4, 5, 6, 7, 8], labels: [1, 2, 3, 4, 5, 6, 7, 8],
                                   sequenceIDs: [0, 0, 1, 1, 0, 0, 0, 0])
        #expect(batch.samples == [0..<2, 2..<4, 4..<8])
        #expect(batch.positions == [0, 1, 0, 1, 0, 1, 2, 3])
        // The last token of each sample predicts nothing: the shift never crosses a boundary.
        #expect(batch.shiftedTargets == [2, -100, 4, -100, 6, 7, 8, -100])
        #expect(throws: LlamaModelError.self) { try LlamaBatch(rows: 2, length: 4, tokens: [1, 2, 3]) }
    }
}

/// Blocked causal attention (skipping blocks above the diagonal), split over threads, equals the one-block serial computation.
@Suite struct LlamaAttentionBlockingTests {
    @Test func blockedAttentionEqualsUnblocked() {
        let shape = LlamaAttentionShape(heads: 4, keyValueHeads: 2, headDim: 8)
        let samples = [0..<37, 37..<40, 40..<100]  // several blocks, a partial last block, a tiny sample
        let n = 100
        var random = TensorRandom(seed: 11)
        func filled(_ count: Int) -> Tensor {
            let t = Tensor(zeros: [count])
            random.fillNormal(t, std: 1)
            return t
        }
        let q = filled(n * shape.queryStride), k = filled(n * shape.keyValueStride), v = filled(n * shape.keyValueStride)
        let dout = filled(n * shape.queryStride)
        let probCount = LlamaOps.attentionProbabilityCount(samples: samples, heads: shape.heads)
        func run(blockRows: Int, threads: Int) -> [Tensor] {
            let out = Tensor(zeros: [n * shape.queryStride]), probs = Tensor(zeros: [probCount])
            let dq = Tensor(zeros: [n * shape.queryStride]), dk = Tensor(zeros: [n * shape.keyValueStride])
            let dv = Tensor(zeros: [n * shape.keyValueStride])
            let scratch = Tensor(zeros: [LlamaOps.attentionWork(samples: samples, shape: shape).scratch])
            LlamaOps.attentionForward(out: out.data, probs: probs.data, q: q.data, k: k.data, v: v.data, samples: samples,
                                      shape: shape, threads: ComputeThreads(count: threads), blockRows: blockRows)
            LlamaOps.attentionBackward(dq: dq.data, dk: dk.data, dv: dv.data, dout: dout.data, probs: probs.data, q: q.data,
                                       k: k.data, v: v.data, scratch: scratch.data, samples: samples, shape: shape,
                                       threads: ComputeThreads(count: threads), blockRows: blockRows)
            return [out, probs, dq, dk, dv]
        }
        let whole = run(blockRows: 1000, threads: 1), blocked = run(blockRows: 8, threads: 3)
        for (name, (a, b)) in zip(["out", "probs", "dq", "dk", "dv"], zip(blocked, whole)) {
            #expect(relativeError(a, b) <= 1e-6, "\(name)")
        }
    }
}
