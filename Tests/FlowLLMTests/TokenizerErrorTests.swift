import Foundation
import Testing

@testable import FlowLLM

/// A malformed or unsupported `tokenizer.json` fails with a message naming the file and the JSON path.
@Suite struct TokenizerErrorTests {
    static func load(_ json: String) throws -> Tokenizer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(json.utf8).write(to: directory.appendingPathComponent("tokenizer.json"))
        return try Tokenizer(directory: directory)
    }

    static func message(_ json: String) -> String {
        do {
            _ = try load(json)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    static let goodModel = #""model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}"#

    @Test func validMinimalFileLoads() throws {
        let tokenizer = try Self.load("{\(Self.goodModel)}")
        #expect(tokenizer.encode("ab") == [2])
    }

    @Test func truncatedJSONNamesFileAndLine() {
        let message = Self.message("{\n\"model\": {\"type\": \"BPE\",\n \"vocab\": {\"a\": 0")
        #expect(message.hasPrefix("tokenizer.json: line 3: invalid JSON"), "\(message)")
    }

    @Test func mergeWithUnknownTokenNamesTheMerge() {
        let message = Self.message(
            #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "a c"]}}"#)
        #expect(
            message
                == "tokenizer.json: model.merges[1]: token `c` is not in model.vocab; add it there or remove this merge",
            "\(message)")
        let pairs = Self.message(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}}"#)
        #expect(pairs == "tokenizer.json: model.merges[0]: expected a pair of two token strings", "\(pairs)")
        let spaces = Self.message(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]}}"#)
        #expect(spaces.hasPrefix("tokenizer.json: model.merges[0]: expected two tokens separated by one space"))
    }

    @Test func unsupportedModelsAreNamed() {
        for type in ["WordPiece", "Unigram", "WordLevel"] {
            let message = Self.message(#"{"model": {"type": "\#(type)", "vocab": {}}}"#)
            #expect(message.hasPrefix("tokenizer.json: model: model type `\(type)` is not supported"), "\(message)")
        }
        let pre = Self.message(#"{"pre_tokenizer": {"type": "BertPreTokenizer"}, \#(Self.goodModel)}"#)
        #expect(pre.hasPrefix("tokenizer.json: pre_tokenizer: pre-tokenizer type `BertPreTokenizer` is not supported"))
    }

    @Test func wrongFieldTypesAndMissingFieldsAreNamed() {
        let vocab = Self.message(#"{"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}"#)
        #expect(vocab == "tokenizer.json: model.vocab.a: expected an integer, found a string", "\(vocab)")
        let added = Self.message(#"{"added_tokens": [{"id": 5}], \#(Self.goodModel)}"#)
        #expect(added == "tokenizer.json: added_tokens[0].content: missing required field", "\(added)")
        let missing = Self.message(#"{"normalizer": null}"#)
        #expect(missing == "tokenizer.json: model: missing required field", "\(missing)")
    }

    @Test func missingFileIsNamed() {
        let url = URL(fileURLWithPath: "/nonexistent/flow/tokenizer.json")
        #expect(throws: TokenizerError.self) { try Tokenizer(tokenizerJSON: url, tokenizerConfig: nil) }
        do {
            _ = try Tokenizer(directory: URL(fileURLWithPath: "/nonexistent/flow"))
            Issue.record("loading a missing directory succeeded")
        } catch {
            #expect("\(error)".hasPrefix("/nonexistent/flow/tokenizer.json: not found; flow reads Hugging Face"))
        }
    }
}
