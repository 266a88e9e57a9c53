import Foundation
import Testing
@testable import FlowLLM

/// Stop sequences: generation ends at the first one, its text is excluded, and streaming never shows any of it.
@Suite struct GenerationStopTests {
    @Test func matcherHoldsBackAPossibleStop() {
        var m = StopSequenceMatcher(stops: ["</end>", "###"])
        #expect(m.append("Hello <") == .release("Hello "))
        #expect(m.append("/e") == .release(""))
        #expect(m.append("x #") == .release("</ex "))
        #expect(m.append("#") == .release(""))
        #expect(m.append("# tail") == .stopped(""))
        var n = StopSequenceMatcher(stops: ["ab"])
        #expect(n.append("xa") == .release("x"))
        #expect(n.flush() == "a")
        var earliest = StopSequenceMatcher(stops: ["cd", "b"])
        #expect(earliest.append("abcd") == .stopped("a"))
    }

    @Test func stopSequenceEndsGenerationAndIsExcluded() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator()
        let full = try generator.generate(promptIDs: expected.prompt_ids, options: GenerationOptions(maxTokens: 32)).text
        #expect(full.count > 20)
        // a stop taken from the middle of the greedy text
        let start = full.index(full.startIndex, offsetBy: full.count / 2)
        let stop = String(full[start..<full.index(start, offsetBy: 3)])
        let found = try #require(full.range(of: stop))
        let before = String(full[..<found.lowerBound])
        var streamed = ""
        let out = try generator.generate(promptIDs: expected.prompt_ids,
                                         options: GenerationOptions(maxTokens: 32, stop: ["never appears", stop])) { token in
            streamed += token.text
            #expect(!streamed.contains(stop))
            return true
        }
        #expect(out.finishReason == .stop)
        #expect(out.text == before)
        #expect(streamed == before)
        #expect(out.completionTokens < 32)
        #expect(out.tokenIDs == Array(expected.base_greedy.prefix(out.completionTokens)))
    }

    @Test func streamedTextEqualsFinalTextWithoutStops() throws {
        let expected = try GenerationFixtures.expected()
        let generator = try GenerationFixtures.generator()
        var streamed = ""
        let out = try generator.generate(prompt: expected.prompt, options: GenerationOptions(maxTokens: 32, stop: ["zzzz"])) {
            streamed += $0.text
            return true
        }
        #expect(out.finishReason == .length)
        #expect(streamed == out.text)
        #expect(out.text == generator.tokenizer.decode(expected.base_greedy, skipSpecialTokens: true))
    }
}
