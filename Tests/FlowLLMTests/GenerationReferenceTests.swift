import Foundation
import Testing
@testable import FlowLLM

/// Generation against transformers' own `generate` and forward pass on the same tiny checkpoint.
@Suite struct GenerationReferenceTests {
    @Test func promptEncodesAsTransformersDoes() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator()
        #expect(generator.tokenizer.encode(expected.prompt) == expected.prompt_ids)
    }

    @Test(arguments: [false, true])
    func prefillLogitsMatchTransformers(adapter: Bool) throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator(adapter: adapter)
        let session = GenerationSession(model: generator.model, capacity: expected.prompt_ids.count)
        try session.append(expected.prompt_ids)
        let reference = adapter ? expected.adapter_last_logits : expected.base_last_logits
        let got = session.logits.values
        #expect(got.count == reference.count)
        let worst = zip(got, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "largest logit difference \(worst)")
    }

    @Test func greedyMatchesTransformersGenerate() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator()
        let options = GenerationOptions(maxTokens: expected.base_greedy.count)
        let out = try generator.generate(prompt: expected.prompt, options: options)
        #expect(out.tokenIDs == expected.base_greedy)
        #expect(out.finishReason == .length)
        #expect(out.promptTokens == expected.prompt_ids.count)
        #expect(out.completionTokens == expected.base_greedy.count)
        #expect(out.text == generator.tokenizer.decode(expected.base_greedy, skipSpecialTokens: true))
    }

    @Test func adapterOnTheFlyMatchesMergedModel() throws {
        let expected = try GenerationFixtures.expected()
        let onTheFly = try GenerationFixtures.generator(adapter: true)
        let options = GenerationOptions(maxTokens: expected.adapter_greedy.count)
        // transformers' greedy output of the merged (merge_and_unload) model
        #expect(try onTheFly.generate(promptIDs: expected.prompt_ids, options: options).tokenIDs == expected.adapter_greedy)
        // and flow's own merge gives the same tokens
        let adapter = try #require(onTheFly.model.adapter)
        let merged = TextGenerator(model: try GenerationModel(weights: onTheFly.model.weights.merging(adapter),
                                                              threads: ComputeThreads(count: 1)),
                                   tokenizer: onTheFly.tokenizer)
        #expect(try merged.generate(promptIDs: expected.prompt_ids, options: options).tokenIDs == expected.adapter_greedy)
        #expect(expected.adapter_greedy != expected.base_greedy)
    }

    @Test func eosTokenEndsGeneration() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator()
        let options = GenerationOptions(maxTokens: 32, stopTokenIDs: [expected.eos_extra_id])
        let out = try generator.generate(promptIDs: expected.prompt_ids, options: options)
        #expect(out.tokenIDs == expected.eos_greedy)
        #expect(out.finishReason == .eos)
        // the EOS token is counted but its text is not part of the output
        #expect(out.text == generator.tokenizer.decode(Array(expected.eos_greedy.dropLast()), skipSpecialTokens: true))
    }

    @Test func decodingTokenByTokenMatchesOneBatchedPass() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator(adapter: true, threads: 2)
        let all = expected.prompt_ids + expected.adapter_greedy.prefix(8)
        let batched = GenerationSession(model: generator.model, capacity: all.count)
        try batched.append(all)
        let stepped = GenerationSession(model: generator.model, capacity: all.count)
        try stepped.append(expected.prompt_ids)
        for id in expected.adapter_greedy.prefix(8) { try stepped.append([id]) }
        #expect(stepped.count == all.count)
        let worst = zip(batched.logits.values, stepped.logits.values).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "largest logit difference \(worst)")
        #expect(throws: GenerationError.self) { try stepped.append([1]) }  // the cache is full
    }
}
