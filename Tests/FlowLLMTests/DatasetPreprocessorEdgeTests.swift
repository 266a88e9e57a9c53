import Foundation
import Synchronization
import Testing
import FlowLLM

private func writeJSONL(_ lines: [String], in dir: URL, name: String) throws -> URL {
    let url = dir.appendingPathComponent(name)
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
    return url
}

@Test func severalDatasetsOfDifferentTypesAreMerged() throws {
    let dir = try DataTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let alpaca = try writeJSONL((1...6).map { #"{"instruction": "q\#($0)", "output": "a\#($0)"}"# }, in: dir, name: "a.jsonl")
    let chat = try DataTests.fixture("chat.jsonl")
    let config = try AxolotlConfig.parse(yaml: """
        chat_template: chatml
        datasets:
          - path: a.jsonl
            type: alpaca
          - path: \(chat.path)
            type: chat_template
        """, file: "merge.yml")
    let progress = Mutex<[Int]>([])
    var pre = Preprocessor(config: config, tokenizer: DatasetTestTokenizer(), baseDirectory: dir)
    pre.onProgress = { done, _ in progress.withLock { $0.append(done) } }
    let result = try pre.prepare()
    #expect(result.stats.rowsRead == 8 && result.train.exampleCount == 8)
    #expect(progress.withLock { $0 } == [6, 8])
    let texts = (0..<8).map { DatasetTestTokenizer().decode(result.train.example($0).inputIDs, skipSpecialTokens: false) }
    #expect(texts.filter { $0.hasPrefix("<|im_start|>") }.count == 2)
    #expect(texts.filter { $0.hasPrefix("<s>Below is an instruction") }.count == 6)
    #expect(alpaca.lastPathComponent == "a.jsonl")
    let twoData = #expect(throws: AxolotlConfigError.self) {
        try AxolotlConfig.parse(yaml: "datasets:\n  - path: a\n  - path: b\n", file: "merge.yml", dataPath: "c.jsonl")
    }
    #expect(twoData?.message == "merge.yml: --data replaces one dataset, but the config has 2; use --set datasets.N.path=FILE")
}

@Test func unusableInputsFailWithTheFileAndTheFix() throws {
    let dir = try DataTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    func prepare(_ yaml: String) throws -> PreprocessingResult {
        try Preprocessor(config: AxolotlConfig.parse(yaml: yaml, file: "c.yml"), tokenizer: DatasetTestTokenizer(), baseDirectory: dir).prepare()
    }
    let missing = #expect(throws: DatasetError.self) { try prepare("datasets:\n  - path: nope.jsonl\n    type: alpaca\n") }
    #expect(missing?.message == "\(dir.path)/nope.jsonl: dataset file not found (datasets.path `nope.jsonl` in c.yml); flow reads local JSONL files: fix the path or pass --data FILE")
    let parquet = #expect(throws: DatasetError.self) { try prepare("datasets:\n  - path: x\n    ds_type: parquet\n") }
    #expect(parquet?.message == "c.yml: dataset `x` has ds_type `parquet`; flow reads local JSON lines (ds_type: json)")
    _ = try writeJSONL([], in: dir, name: "empty.jsonl")
    let empty = #expect(throws: DatasetError.self) { try prepare("datasets:\n  - path: empty.jsonl\n    type: alpaca\n") }
    #expect(empty?.message == "\(dir.path)/empty.jsonl: no rows; the dataset is empty")
    let none = #expect(throws: DatasetError.self) { try prepare("base_model: x\n") }
    #expect(none?.message == "c.yml: no `datasets`; add one with `path` and `type`, or pass --data FILE")
    _ = try writeJSONL([#"{"instruction": "q", "output": "a"}"#, #"{"instruction": "\#(String(repeating: "long ", count: 40))", "output": "a"}"#], in: dir, name: "long.jsonl")
    let raise = #expect(throws: DatasetError.self) {
        try prepare("sequence_len: 256\nexcess_length_strategy: raise\ndatasets:\n  - path: long.jsonl\n    type: alpaca\n")
    }
    // By hand: the prompt is 1 + 340 bytes, cut to 256 as Axolotl truncates each part; + "a" + EOS = 258.
    #expect(raise?.message == "\(dir.path)/long.jsonl:2: example has 258 tokens, over sequence_len 256 (excess_length_strategy: raise); raise sequence_len or use drop or truncate")
    let eosMissing = #expect(throws: DatasetError.self) {
        try prepare("special_tokens: {eos_token: \"<|endoftext|>\"}\ndatasets:\n  - path: long.jsonl\n    type: alpaca\n")
    }
    #expect(eosMissing?.message == "c.yml: special_tokens.eos_token `<|endoftext|>` is not a token of the tokenizer; use the tokenizer's own token or add it to tokenizer.json")
}
