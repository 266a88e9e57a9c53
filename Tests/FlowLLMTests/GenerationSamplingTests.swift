import Dispatch
import Foundation
import Testing
@testable import FlowLLM

/// Seeded sampling, length limits, cancellation and concurrent requests on the tiny fixture model.
@Suite struct GenerationSamplingTests {
    @Test func samplingIsReproducibleForASeedAndDiffersAcrossSeeds() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator()
        func run(_ seed: UInt64) throws -> [Int32] {
            let options = GenerationOptions(maxTokens: 24, temperature: 1.0, topK: 50, topP: 0.95, seed: seed)
            return try generator.generate(promptIDs: expected.prompt_ids, options: options).tokenIDs
        }
        let first = try run(1)
        #expect(first.count == 24)
        #expect(try run(1) == first)
        #expect(try run(2) != first)
        #expect(first != expected.base_greedy)
    }

    @Test func topKOneAndTinyTopPAreGreedy() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator()
        for options in [GenerationOptions(maxTokens: 12, temperature: 1.5, topK: 1, seed: 3),
                        GenerationOptions(maxTokens: 12, temperature: 1.5, topP: 1e-6, seed: 3)] {
            let out = try generator.generate(promptIDs: expected.prompt_ids, options: options)
            #expect(out.tokenIDs == Array(expected.base_greedy.prefix(12)))
        }
    }

    @Test func topKAndTopPKeepOnlyTheNucleus() {
        // probabilities 0.5, 0.3, 0.2 (at T = 1) on ids 2, 0, 1
        let logits: [Float] = [Float(log(0.3)), Float(log(0.2)), Float(log(0.5))]
        func draws(_ options: GenerationOptions) -> [Int32: Int] {
            var sampler = TokenSampler(options: options)
            var counts: [Int32: Int] = [:]
            logits.withUnsafeBufferPointer { p in
                for _ in 0..<4000 { counts[sampler.next(p.baseAddress!, count: 3), default: 0] += 1 }
            }
            return counts
        }
        func share(_ counts: [Int32: Int], _ id: Int32) -> Double { Double(counts[id] ?? 0) / 4000 }
        // top_p 0.7: ascending cumulative 0.2, 0.5, 1.0; transformers drops only the 0.2 token
        let nucleus = draws(GenerationOptions(temperature: 1, topP: 0.7, seed: 11))
        #expect(Set(nucleus.keys) == [0, 2])
        #expect(abs(share(nucleus, 2) - 0.625) < 0.03)
        let topTwo = draws(GenerationOptions(temperature: 1, topK: 2, seed: 11))
        #expect(Set(topTwo.keys) == [0, 2])
        let all = draws(GenerationOptions(temperature: 1, seed: 11))
        #expect(Set(all.keys) == [0, 1, 2])
        #expect(abs(share(all, 1) - 0.2) < 0.03)
        // a high temperature flattens the distribution
        let hot = draws(GenerationOptions(temperature: 100, seed: 11))
        #expect(abs(share(hot, 1) - 1.0 / 3) < 0.03)
    }

    @Test func maxTokensEndsWithLength() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator()
        let out = try generator.generate(promptIDs: expected.prompt_ids, options: GenerationOptions(maxTokens: 5))
        #expect(out.tokenIDs == Array(expected.base_greedy.prefix(5)))
        #expect(out.finishReason == .length)
        #expect(out.completionTokens == 5)
        let none = try generator.generate(promptIDs: expected.prompt_ids, options: GenerationOptions(maxTokens: 0))
        #expect(none.tokenIDs.isEmpty && none.finishReason == .length)
    }

    @Test func callbackCanCancel() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator()
        var seen: [Int] = []
        let out = try generator.generate(promptIDs: expected.prompt_ids, options: GenerationOptions(maxTokens: 20)) { token in
            seen.append(token.index)
            return token.index < 2
        }
        #expect(seen == [0, 1, 2])
        #expect(out.finishReason == .cancelled)
        #expect(out.tokenIDs == Array(expected.base_greedy.prefix(3)))
    }

    @Test func concurrentRequestsMatchSequentialOnes() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator(adapter: true)
        let options = (0..<4).map { GenerationOptions(maxTokens: 16, temperature: $0 == 0 ? 0 : 0.8, seed: UInt64($0)) }
        let sequential = try options.map { try generator.generate(promptIDs: expected.prompt_ids, options: $0).tokenIDs }
        let results = ConcurrentResults(count: options.count)
        DispatchQueue.concurrentPerform(iterations: options.count) { i in
            results.set(i, try? generator.generate(promptIDs: expected.prompt_ids, options: options[i]).tokenIDs)
        }
        #expect(results.values == sequential.map { Optional($0) })
        #expect(sequential[0] == Array(expected.adapter_greedy.prefix(16)))
    }

    @Test func badOptionsAreRejected() throws {
        let generator = try GenerationFixtures.generator()
        for options in [GenerationOptions(maxTokens: -1), GenerationOptions(temperature: -1), GenerationOptions(topP: 0),
                        GenerationOptions(stop: [""])] {
            #expect(throws: GenerationError.self) { try generator.generate(promptIDs: [1], options: options) }
        }
        #expect(throws: GenerationError.self) { try generator.generate(promptIDs: [99_999], options: GenerationOptions()) }
        #expect(throws: GenerationError.self) {
            try generator.generate(prompt: "", options: GenerationOptions(addSpecialTokens: false))
        }
    }
}

/// Results written by concurrent workers, one slot each.
private final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [[Int32]?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: [Int32]?) { lock.lock(); slots[i] = value; lock.unlock() }
    var values: [[Int32]?] { lock.lock(); defer { lock.unlock() }; return slots }
}
