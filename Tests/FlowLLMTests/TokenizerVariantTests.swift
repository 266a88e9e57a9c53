import Foundation
import Testing

@testable import FlowLLM

/// The other supported components (normalizers, pre-tokenizers, split behaviours, processors, unknown-token handling),
/// each as a patch of a fixture tokenizer, against ids and decodings from Python `tokenizers` (`variants.json`).
@Suite struct TokenizerVariantTests {
    struct Variant: Decodable {
        var name: String
        var base: String
        var ids: [[Int32]]
        var decoded: [String]
    }

    static func variants() throws -> (parsed: [Variant], raw: [TokenizerJSONValue]) {
        let url = try TokenizerFixtures.directory().appendingPathComponent("variants.json")
        let data = try Data(contentsOf: url)
        let raw = try TokenizerJSONValue.parse(Array(data), file: "variants.json")
        guard case .array(let entries) = raw else { throw TokenizerError("variants.json is not an array") }
        return (try JSONDecoder().decode([Variant].self, from: data), entries)
    }

    /// Applies a patch the way `scripts/fixtures/tokenizer.py` does: top-level fields, or `model.x` fields.
    static func patched(_ base: TokenizerJSONValue, _ patch: TokenizerJSONValue) -> TokenizerJSONValue {
        guard case .object(let members) = patch else { return base }
        var result = base
        for (key, value) in members {
            if key.hasPrefix("model."), let model = result["model"] {
                result = result.setting("model", to: model.setting(String(key.dropFirst(6)), to: value))
            } else {
                result = result.setting(key, to: value)
            }
        }
        return result
    }

    @Test func variantsEncodeAndDecodeLikePython() throws {
        let strings = try TokenizerFixtures.strings()
        let (variants, raw) = try Self.variants()
        #expect(variants.count == 8)
        for (variant, entry) in zip(variants, raw) {
            let baseURL = try TokenizerFixtures.directory(variant.base).appendingPathComponent("tokenizer.json")
            let base = try TokenizerJSONValue.parse(Array(Data(contentsOf: baseURL)), file: "tokenizer.json")
            let json = Self.patched(base, try #require(entry["patch"])).serialized()
            let tokenizer = Tokenizer(state: try TokenizerState(tokenizerJSON: json, tokenizerConfig: nil))
            var failures = 0
            for (index, expected) in variant.ids.enumerated() {
                let ids = tokenizer.encode(strings[index])
                let decoded = tokenizer.decode(expected)
                if ids != expected || !decoded.utf8.elementsEqual(variant.decoded[index].utf8) {
                    failures += 1
                    if failures <= 3 {
                        let python = "\(expected) \(variant.decoded[index].debugDescription)"
                        Issue.record(
                            "\(variant.name) #\(index) \(strings[index].debugDescription): flow \(ids) \(decoded.debugDescription), python \(python)"
                        )
                    }
                }
            }
            #expect(failures == 0, "\(variant.name): \(failures) of \(variant.ids.count) strings differ")
        }
    }

    /// The GPT-2, Llama-3 and Qwen2 regexes must be recognised, or they would silently take the slow regex path.
    @Test func knownRegexesUseHandWrittenMatchers() throws {
        func parse(_ source: String) throws -> TokenizerSplitPattern {
            try TokenizerSplitPattern.parse(
                TokenizerJSONField(
                    value: .object([("Regex", .string(source))]), file: "tokenizer.json", path: "pattern"))
        }
        #expect(try parse(TokenizerSplitPattern.llama3Source).llamaStyleDigits == 3)
        #expect(try parse(TokenizerSplitPattern.qwen2Source).llamaStyleDigits == 1)
        guard case .gpt2 = try parse(TokenizerSplitPattern.gpt2Source) else {
            Issue.record("the GPT-2 regex is not recognised")
            return
        }
        guard case .regex = try parse("[0-9]+") else {
            Issue.record("other regexes should use NSRegularExpression")
            return
        }
    }
}
