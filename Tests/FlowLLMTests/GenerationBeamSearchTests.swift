import Foundation
import Testing
@testable import FlowLLM

/// Beam search against transformers' `generate(num_beams=…)` on the generation fixture's checkpoint
/// (`scripts/fixtures/beam.py` wrote `beam.json`).
@Suite struct GenerationBeamSearchTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            var num_beams: Int
            var length_penalty: Float
            var max_new_tokens: Int
            var stop_token_ids: [Int32]
            var tokens: [Int32]
            var score_gap: Float
        }
        var prompt_ids: [Int32]
        var cases: [Case]
    }

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: GenerationFixtures.directory.appendingPathComponent("beam.json")))
    }

    @Test(arguments: 0..<12, [1, 2])
    func matchesTransformersBeamSearch(index: Int, threads: Int) throws {
        let reference = try Self.reference()
        let c = try #require(reference.cases.indices.contains(index) ? reference.cases[index] : nil)
        let generator = try GenerationFixtures.generator(threads: threads)
        let options = GenerationOptions(maxTokens: c.max_new_tokens, stopTokenIDs: c.stop_token_ids, numBeams: c.num_beams,
                                        lengthPenalty: c.length_penalty)
        let out = try generator.generate(promptIDs: reference.prompt_ids, options: options)
        #expect(out.tokenIDs == c.tokens, "\(c.num_beams) beams, length penalty \(c.length_penalty) (score gap \(c.score_gap))")
        let ended = c.tokens.last.map { c.stop_token_ids.contains($0) || generator.eosTokenIDs.contains($0) } ?? false
        #expect(out.finishReason == (ended ? .eos : .length))
        #expect(out.completionTokens == c.tokens.count)
        let textIDs = ended ? Array(c.tokens.dropLast()) : c.tokens
        #expect(out.text == generator.tokenizer.decode(textIDs, skipSpecialTokens: true))
    }

    @Test func theFixtureCoversEarlyEndsAndLengthLimits() throws {
        // The comparison above means something only if some searches end on an end token and others run out.
        let cases = try Self.reference().cases
        #expect(cases.contains { $0.tokens.count < $0.max_new_tokens })
        #expect(cases.contains { $0.tokens.count == $0.max_new_tokens && !$0.stop_token_ids.isEmpty })
        // and the searches differ from greedy decoding
        let greedy = try GenerationFixtures.expected().base_greedy
        #expect(cases.contains { !greedy.starts(with: $0.tokens) })
    }

    @Test func oneBeamIsGreedyDecoding() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator()
        let out = try generator.generate(promptIDs: expected.prompt_ids,
                                         options: GenerationOptions(maxTokens: expected.base_greedy.count, numBeams: 1))
        #expect(out.tokenIDs == expected.base_greedy)
    }

    @Test func aStopSequenceEndsABeamAndIsCutFromTheText() throws {
        let reference = try Self.reference()
        let generator = try GenerationFixtures.generator()
        let plain = try generator.generate(promptIDs: reference.prompt_ids, options: GenerationOptions(maxTokens: 24, numBeams: 4))
        // a stop taken from the middle of the search's own output: some beam reaches it
        let words = plain.text.split(separator: " ")
        try #require(words.count > 4)
        let stop = String(words[3])
        let out = try generator.generate(promptIDs: reference.prompt_ids,
                                         options: GenerationOptions(maxTokens: 24, stop: [stop], numBeams: 4))
        #expect(out.finishReason == .stop)
        #expect(!out.text.contains(stop))
        let full = generator.tokenizer.decode(out.tokenIDs, skipSpecialTokens: true)
        #expect(full.contains(stop))
        #expect(full.hasPrefix(out.text))
        #expect(out.tokenIDs.count < plain.tokenIDs.count)
    }

    @Test func tokensAreReportedOnceTheSearchEnds() throws {
        let reference = try Self.reference()
        let c = reference.cases[1]
        let generator = try GenerationFixtures.generator()
        var seen: [GeneratedToken] = []
        let out = try generator.generate(promptIDs: reference.prompt_ids,
                                         options: GenerationOptions(maxTokens: c.max_new_tokens, numBeams: c.num_beams)) {
            seen.append($0)
            return true
        }
        #expect(seen.map(\.id) == out.tokenIDs)
        #expect(seen.map(\.index) == Array(0..<out.tokenIDs.count))
        #expect(seen.map(\.text).joined() == out.text)
    }

    @Test func oneNewTokenIsTheLikeliestToken() throws {
        // every candidate ends at the length limit at once; the best is the greedy first token
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator()
        let out = try generator.generate(promptIDs: expected.prompt_ids, options: GenerationOptions(maxTokens: 1, numBeams: 5))
        #expect(out.tokenIDs == [expected.base_greedy[0]] && out.finishReason == .length)
    }

    @Test func stoppingTheReportsCutsTheResult() throws {
        let reference = try Self.reference()
        let c = reference.cases[1]
        let generator = try GenerationFixtures.generator()
        var seen = 0
        let out = try generator.generate(promptIDs: reference.prompt_ids,
                                         options: GenerationOptions(maxTokens: c.max_new_tokens, numBeams: c.num_beams)) { _ in
            seen += 1
            return seen < 5
        }
        #expect(seen == 5)
        #expect(out.finishReason == .cancelled)
        #expect(out.tokenIDs == Array(c.tokens.prefix(5)) && out.completionTokens == 5)
        #expect(out.text == generator.tokenizer.decode(Array(c.tokens.prefix(5)), skipSpecialTokens: true))
    }

    @Test func beamSettingsAreChecked() throws {
        let generator = try GenerationFixtures.generator()
        let prompt: [Int32] = [1, 100, 200]
        for (options, words) in [
            (GenerationOptions(numBeams: 0), "num_beams is 0"),
            (GenerationOptions(numBeams: GenerationOptions.maxBeams + 1), "between 1 and"),
            (GenerationOptions(temperature: 0.7, numBeams: 4), "does not sample"),
            (GenerationOptions(topP: 0.9, numBeams: 2), "does not sample"),
            (GenerationOptions(numBeams: 2, lengthPenalty: .nan), "length_penalty"),
        ] {
            let error = #expect(throws: GenerationError.self) { try generator.generate(promptIDs: prompt, options: options) }
            #expect(error.map { "\($0)" }?.contains(words) == true, "\(String(describing: error))")
        }
        // no new tokens asked: nothing generated
        let none = try generator.generate(promptIDs: prompt, options: GenerationOptions(maxTokens: 0, numBeams: 3))
        #expect(none.tokenIDs.isEmpty && none.finishReason == .length)
    }
}
