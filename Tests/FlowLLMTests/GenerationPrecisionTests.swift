import Foundation
import Testing
@testable import FlowLLM

/// BF16 weight storage computes what the F32 path computes on weights rounded to BF16.
@Suite struct GenerationPrecisionTests {
    /// The fixture's weights with the projections and LM head rounded to BF16 (what `.bfloat16` streams).
    static func roundedWeights(_ weights: LlamaWeights) -> LlamaWeights {
        let byName = Dictionary(uniqueKeysWithValues: weights.namedTensors.map { ($0.name, $0.tensor) })
        return LlamaWeights(config: weights.config) { name, _ in
            let t = byName[name]!.copy()
            if name.contains("_proj") || name.hasPrefix("lm_head") {
                for i in 0..<t.count { t.data[i] = FloatConversion.float(bfloat16Bits: FloatConversion.bfloat16Bits(t.data[i])) }
            }
            return t
        }
    }

    @Test(arguments: [1, 2])
    func bfloat16MatchesF32OnRoundedWeights(threads: Int) throws {
        let expected = try GenerationFixtures.expected()
        let f32 = try GenerationFixtures.generator(adapter: true)
        let adapter = try #require(f32.model.adapter)
        let half = try GenerationModel(weights: f32.model.weights, adapter: adapter, threads: ComputeThreads(count: threads),
                                       precision: .bfloat16)
        let reference = try GenerationModel(weights: Self.roundedWeights(f32.model.weights), adapter: adapter,
                                            threads: ComputeThreads(count: 1))
        #expect(half.bytesReadPerToken < f32.model.bytesReadPerToken)
        let tokens = expected.prompt_ids + expected.adapter_greedy.prefix(4)
        var logits: [[Float]] = []
        for model in [half, reference] {
            let session = GenerationSession(model: model, capacity: tokens.count)
            try session.append(expected.prompt_ids)  // batched (tiles + sgemm in BF16)
            for id in expected.adapter_greedy.prefix(4) { try session.append(token: id) }  // matrix–vector in BF16
            logits.append(session.logits.values)
        }
        let worst = zip(logits[0], logits[1]).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "largest logit difference \(worst)")
        // rounding really changed the model (else the test could not fail)
        let exact = GenerationSession(model: f32.model, capacity: tokens.count)
        try exact.append(tokens)
        #expect(zip(exact.logits.values, logits[1]).map { abs($0 - $1) }.max() ?? 0 > 1e-4)
    }
}
