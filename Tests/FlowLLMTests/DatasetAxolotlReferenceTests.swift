import Foundation
import Testing
import FlowLLM

/// `axolotl_reference.json`: Axolotl 0.19's own strategies run on the fixtures with a Hugging Face tokenizer
/// identical to `DatasetTestTokenizer` (scripts/fixtures/data_axolotl.py).
private struct AxolotlReference: Decodable {
    struct Case: Decodable {
        struct Example: Decodable { var input_ids: [Int32]; var labels: [Int32] }
        var name: String, yaml: String, fixture: String, bos: String, eos: String
        var added_tokens: [String]
        var examples: [Example]
    }
    struct Encoding: Decodable { var text: String; var added_tokens: [String]; var with_special: [Int32]; var without_special: [Int32] }
    struct Permutation: Decodable { var seed: UInt64; var count: Int; var permutation: [Int] }
    struct Split: Decodable { var seed: Int; var count: Int; var val_set_size: Double; var eval_rows: [Int] }
    var cases: [Case]
    var encodings: [Encoding]
    var permutations: [Permutation]
    var split: Split

    static func load() throws -> AxolotlReference {
        try JSONDecoder().decode(AxolotlReference.self, from: Data(contentsOf: DataTests.fixture("axolotl_reference.json")))
    }
}

@Test func testTokenizerEncodesLikeTheHuggingFaceTokenizerOfTheReference() throws {
    for e in try AxolotlReference.load().encodings {
        let tok = DatasetTestTokenizer(addedTokens: e.added_tokens)
        #expect(tok.encode(e.text, addSpecialTokens: true) == e.with_special, "\(e.text)")
        #expect(tok.encode(e.text, addSpecialTokens: false) == e.without_special, "\(e.text)")
    }
}

@Test func everyDatasetTypeMatchesAxolotlsOwnIdsAndLabels() throws {
    let reference = try AxolotlReference.load()
    #expect(reference.cases.count == 26)
    for c in reference.cases {
        let tok = DatasetTestTokenizer(addedTokens: c.added_tokens, bos: c.bos, eos: c.eos)
        let strategy = try DataTests.strategy(c.yaml, tokenizer: tok)
        let rows = try JSONLDatasetReader.read(DataTests.fixture(c.fixture))
        let examples = try rows.flatMap { try strategy.tokenize($0) }
        #expect(examples.count == c.examples.count, "\(c.name)")
        for (mine, theirs) in zip(examples, c.examples) {
            #expect(mine.inputIDs == theirs.input_ids, "\(c.name): ids of line \(mine.sourceLine)")
            #expect(mine.labels == theirs.labels, "\(c.name): labels of line \(mine.sourceLine)")
        }
    }
}

@Test func shuffleIsNumpysDefaultRNGPermutation() throws {
    let permutations = try AxolotlReference.load().permutations
    #expect(permutations.count == 20)
    for p in permutations {
        var shuffle = DatasetShuffle(seed: p.seed)
        #expect(shuffle.permutation(p.count) == p.permutation, "seed \(p.seed), n \(p.count)")
    }
}

@Test func evalSplitIsTheRowsAxolotlPutsInItsEvalSet() throws {
    let split = try AxolotlReference.load().split
    let dir = try DataTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let lines = (0..<split.count).map { #"{"instruction": "q\#($0)", "output": "a\#($0)"}"# }
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: dir.appendingPathComponent("rows.jsonl"))
    let config = try AxolotlConfig.parse(yaml: "seed: \(split.seed)\nval_set_size: \(split.val_set_size)\ndatasets:\n  - path: rows.jsonl\n    type: alpaca\n")
    let result = try Preprocessor(config: config, tokenizer: DatasetTestTokenizer(), baseDirectory: dir).prepare()
    // Line n holds row n − 1.
    #expect(result.eval.sourceLines.map { Int($0) - 1 } == split.eval_rows)
    #expect(result.train.exampleCount == split.count - split.eval_rows.count)
}
