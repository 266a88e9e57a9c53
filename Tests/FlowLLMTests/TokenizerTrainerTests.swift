import Foundation
import Testing

@testable import FlowLLM

/// flow's BPE trainer, and the round trip with Python: flow trains `Fixtures/tokenizer/flow/tokenizer.json` (written
/// by this test with FLOW_WRITE_TOKENIZER_FIXTURE=1), `scripts/fixtures/tokenizer.py` loads it in `tokenizers` and
/// writes what Python encodes; these tests check that flow still trains that same file and encodes like Python.
@Suite struct TokenizerTrainerTests {
    static let specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"]

    static func trainer(vocabularySize: Int = 800) -> BPETrainer {
        BPETrainer(
            vocabularySize: vocabularySize, minimumFrequency: 2, specialTokens: specials,
            preTokenization: .llama3, bosToken: specials[0], eosToken: specials[1], padToken: specials[2],
            chatTemplate: "{% for m in messages %}{{ m['content'] }}{{ eos_token }}{% endfor %}")
    }

    static func corpus() throws -> [String] {
        let text = try String(
            contentsOf: TokenizerFixtures.directory().appendingPathComponent("corpus.txt"), encoding: .utf8)
        return text.split(separator: "\n").map(String.init)
    }

    @Test func trainsTheCommittedFlowFixture() throws {
        let trained = try Self.trainer().train(texts: Self.corpus())
        let fixture = try TokenizerFixtures.directory("flow")
        if ProcessInfo.processInfo.environment["FLOW_WRITE_TOKENIZER_FIXTURE"] == "1" {
            // Write into the source tree (not the test bundle) so the file can be committed.
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Fixtures/tokenizer/flow")
            try trained.write(to: source)
        }
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent(
            "flow-tokenizer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try trained.write(to: temporary)
        for file in ["tokenizer.json", "tokenizer_config.json"] {
            let written = try Data(contentsOf: temporary.appendingPathComponent(file))
            let committed = try Data(contentsOf: fixture.appendingPathComponent(file))
            #expect(
                written == committed, "\(file) differs from the committed fixture: regenerate it (see the suite's doc)")
        }
        #expect(trained.vocabularySize == 800)
        #expect(trained.bosTokenID == 0 && trained.eosTokenID == 1 && trained.padTokenID == 2)
    }

    @Test func flowTrainedTokenizerEncodesLikePython() throws {
        let strings = try TokenizerFixtures.strings()
        let expected = try TokenizerFixtures.expected("flow")
        let tokenizer = try Tokenizer(directory: TokenizerFixtures.directory("flow"))
        let problems = TokenizerFixtures.mismatches(tokenizer, expected, strings)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test func trainedTokenizerRoundTripsAndMergesFrequentWords() throws {
        let corpus = try Self.corpus()
        let tokenizer = try Self.trainer(vocabularySize: 600).train(texts: corpus)
        #expect(tokenizer.vocabularySize == 600)
        let sample = Array(corpus.prefix(50))
        var bytes = 0
        var tokens = 0
        for text in sample {
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            #expect(tokenizer.decode(ids) == text)
            bytes += text.utf8.count
            tokens += ids.count
        }
        // Merges must compress the training text well below one token per byte.
        #expect(Double(bytes) / Double(tokens) > 2.0)
        #expect(tokenizer.encode(" the", addSpecialTokens: false).count == 1)
        #expect(tokenizer.encode("x").first == tokenizer.bosTokenID)
        // Special tokens are split out of the training text, never merged into words.
        #expect(tokenizer.encode("<|end_of_text|>", addSpecialTokens: false) == [1])
    }

    @Test func trainerRejectsInconsistentSettings() {
        #expect(throws: TokenizerError.self) {
            try BPETrainer(vocabularySize: 300, specialTokens: ["<s>"], bosToken: "<bos>").train(texts: ["a b"])
        }
        #expect(throws: TokenizerError.self) { try BPETrainer(vocabularySize: 100).train(texts: ["a b"]) }
    }
}
