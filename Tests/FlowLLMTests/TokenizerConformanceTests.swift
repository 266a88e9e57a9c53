import Foundation
import Testing

@testable import FlowLLM

/// Loads the fixtures written by `scripts/fixtures/tokenizer.py` (expected values from the Python `tokenizers` library).
enum TokenizerFixtures {
    struct Expected: Decodable {
        var ids: [[Int32]]
        var decodedSkippingSpecialTokens: [String?]
        var decoded: [String]
        var idsNoSpecialTokens: [[Int32]]
    }

    static func directory(_ name: String = "") throws -> URL {
        let root = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/tokenizer")
        return name.isEmpty ? root : root.appendingPathComponent(name)
    }

    static func strings() throws -> [String] {
        try JSONDecoder().decode(
            [String].self, from: Data(contentsOf: directory().appendingPathComponent("strings.json")))
    }

    static func expected(_ name: String) throws -> Expected {
        try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: directory(name).appendingPathComponent("expected.json")))
    }

    /// Compares `tokenizer` against the expected values and returns a description of the first mismatches.
    static func mismatches(_ tokenizer: Tokenizer, _ expected: Expected, _ strings: [String]) -> [String] {
        var problems: [String] = []
        func note(_ text: String) {
            if problems.count < 8 { problems.append(text) } else if problems.count == 8 { problems.append("…") }
        }
        for (index, text) in strings.enumerated() {
            let ids = tokenizer.encode(text)
            if ids != expected.ids[index] {
                note("encode #\(index) \(text.debugDescription): flow \(ids) python \(expected.ids[index])")
                continue
            }
            let decoded = tokenizer.decode(ids, skipSpecialTokens: true)
            let wanted = expected.decodedSkippingSpecialTokens[index] ?? text
            if !decoded.utf8.elementsEqual(wanted.utf8) {
                note(
                    "decode skipping special tokens #\(index): flow \(decoded.debugDescription) python \(wanted.debugDescription)"
                )
            }
        }
        for (index, wanted) in expected.idsNoSpecialTokens.enumerated() {
            let ids = tokenizer.encode(strings[index], addSpecialTokens: false)
            if ids != wanted { note("encode without special tokens #\(index): flow \(ids) python \(wanted)") }
            let decoded = tokenizer.decode(expected.ids[index])
            if !decoded.utf8.elementsEqual(expected.decoded[index].utf8) {
                note(
                    "decode #\(index): flow \(decoded.debugDescription) python \(expected.decoded[index].debugDescription)"
                )
            }
        }
        return problems
    }
}

@Suite struct TokenizerConformanceTests {
    @Test(arguments: ["gpt2", "llama3", "llama2", "metaspace"])
    func encodesAndDecodesLikePythonTokenizers(name: String) throws {
        let strings = try TokenizerFixtures.strings()
        #expect(strings.count >= 5_000)
        let expected = try TokenizerFixtures.expected(name)
        #expect(expected.ids.count == strings.count)
        let tokenizer = try Tokenizer(directory: TokenizerFixtures.directory(name))
        let problems = TokenizerFixtures.mismatches(tokenizer, expected, strings)
        #expect(problems.isEmpty, "\(name): \(problems.joined(separator: "\n"))")
    }
}
