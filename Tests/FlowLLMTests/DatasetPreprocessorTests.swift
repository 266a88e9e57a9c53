import Foundation
import Testing
import FlowLLM

private let sqlTokens = ["[INST]", " [/INST]", "[SQL]", " [/SQL]"]

private func sharedConfig(_ name: String, _ overrides: [String] = []) throws -> AxolotlConfig {
    try AxolotlConfig.load(from: DataTests.sharedFile("axolotl-configs/\(name)"), overrides: overrides,
                           dataPath: DataTests.sharedFile("sqlqa.jsonl").path)
}

@Test(arguments: ["codellama.yml", "mistral-memorize.yml", "mistral.yml", "pythia.yml"])
func everySharedConfigPreprocessesSQLQAAndReadsBack(name: String) throws {
    let config = try sharedConfig(name)
    let tok = DatasetTestTokenizer(addedTokens: sqlTokens)
    let dir = try DataTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("prepared")
    let manifest = try Preprocessor(config: config, tokenizer: tok).run(into: out, dataDigests: ["sha256:test"], rowLimit: 40)
    let expectedEval = name == "mistral-memorize.yml" ? 20 : 2  // 0.5 × 40, ⌈0.05 × 40⌉
    #expect(manifest.splits["eval"]?.examples == expectedEval)
    #expect(manifest.splits["train"]?.examples == 40 - expectedEval)
    let prepared = try PreparedDataset(directory: out)
    #expect(prepared.manifest == manifest)
    #expect(prepared.train.exampleCount == 40 - expectedEval && prepared.eval.exampleCount == expectedEval)
    // Every example starts with BOS + [INST], is masked through " [/INST]", and ends with a trained " [/SQL]</s>".
    for i in 0..<prepared.train.exampleCount {
        let e = prepared.train.example(i)
        #expect(Array(e.inputIDs.prefix(2)) == [257, tok.id(forToken: "[INST]")!])
        #expect(Array(e.labels.suffix(2)) == [tok.id(forToken: " [/SQL]")!, 258])
        let firstTrained = try #require(e.labels.firstIndex { $0 != -100 })
        #expect(e.inputIDs[firstTrained - 1] == tok.id(forToken: " [/INST]")!)
        #expect(e.inputIDs[firstTrained] == tok.id(forToken: "[SQL]")!)
    }
    let stats = try JSONDecoder().decode(PreprocessingStats.self, from: Data(contentsOf: out.appendingPathComponent("stats.json")))
    #expect(stats.rowsRead == 40 && stats.examplesKept == 40 && stats.dropped.isEmpty)
    #expect(stats.lengthHistogram.reduce(0) { $0 + $1.count } == 40)
    #expect(stats.warnings.isEmpty)
    let preview = try String(contentsOf: out.appendingPathComponent("preview.jsonl"), encoding: .utf8).split(separator: "\n")
    #expect(preview.count == 20)
    let first = try JSONDecoder().decode(PreparedExamplePreview.self, from: Data(preview[0].utf8))
    #expect(first.segments.map(\.trained) == [false, true])
    #expect(first.segments[0].text.hasPrefix("<s>[INST] Using the schema context below"))
    #expect(first.segments[1].text.hasPrefix("[SQL] SELECT") && first.segments[1].text.hasSuffix(" [/SQL]</s>"))
}

@Test func tokensMissingFromTheVocabularyAreReportedNotFatal() throws {
    let result = try Preprocessor(config: sharedConfig("mistral.yml"), tokenizer: DatasetTestTokenizer()).prepare(rowLimit: 4)
    #expect(result.stats.warnings.count == 4)
    #expect(result.stats.warnings[0].hasPrefix("tokens: `[INST]` is not in the tokenizer's vocabulary"))
}

@Test func splitIsDeterministicPerSeedAndEvalIsTheLastShuffledRows() throws {
    let tok = DatasetTestTokenizer(addedTokens: sqlTokens)
    func evalLines(_ seed: Int) throws -> [Int32] {
        try Preprocessor(config: sharedConfig("mistral.yml", ["seed=\(seed)", "val_set_size=5"]), tokenizer: tok)
            .prepare(rowLimit: 30).eval.sourceLines
    }
    let a = try evalLines(7), b = try evalLines(7), c = try evalLines(8)
    #expect(a == b && a != c && a.count == 5)
    var rng = DatasetShuffle(seed: 7)
    #expect(a == rng.shuffled(Array(1...30)).suffix(5).map(Int32.init))
}

@Test func emptyResultSaysWhyAndHowToFixIt() throws {
    let tok = DatasetTestTokenizer(addedTokens: sqlTokens)
    let tooLong = #expect(throws: DatasetError.self) {
        try Preprocessor(config: sharedConfig("mistral.yml", ["sequence_len=32"]), tokenizer: tok).prepare(rowLimit: 64)
    }
    #expect(tooLong?.message.hasSuffix("no examples left after filtering; all 64 examples longer than sequence_len 32: raise sequence_len or set excess_length_strategy: truncate") == true)
    // Truncating to 32 keeps only prompt tokens, so every label is masked.
    let masked = #expect(throws: DatasetError.self) {
        try Preprocessor(config: sharedConfig("mistral.yml", ["sequence_len=32", "excess_length_strategy=truncate"]), tokenizer: tok).prepare(rowLimit: 64)
    }
    #expect(masked?.message.hasSuffix("all 64 examples have every label masked: check roles_to_train, train_on_inputs and the output field") == true)
}

@Test func dropCountsAndTruncation() throws {
    let tok = DatasetTestTokenizer(addedTokens: sqlTokens)
    let base = try Preprocessor(config: sharedConfig("mistral.yml", ["val_set_size=0"]), tokenizer: tok).prepare(rowLimit: 64)
    let lengths = (0..<base.train.exampleCount).map { base.train.example($0).inputIDs.count }.sorted()
    let limit = lengths[32]  // half the examples are longer than this
    let dropped = try Preprocessor(config: sharedConfig("mistral.yml", ["val_set_size=0", "sequence_len=\(limit)"]), tokenizer: tok).prepare(rowLimit: 64)
    let longer = lengths.filter { $0 > limit }.count
    #expect(dropped.stats.dropped == ["longer_than_sequence_len": longer] && dropped.train.exampleCount == 64 - longer)
    let truncated = try Preprocessor(config: sharedConfig("mistral.yml", ["val_set_size=0", "sequence_len=\(limit)", "excess_length_strategy=truncate"]), tokenizer: tok).prepare(rowLimit: 64)
    #expect(truncated.stats.truncated == longer)
    #expect((0..<truncated.train.exampleCount).allSatisfy { truncated.train.example($0).inputIDs.count <= limit })
}

@Test func completionWithPackingFillsRows() throws {
    let config = try AxolotlConfig.parse(yaml: """
        sequence_len: 256
        sample_packing: true
        datasets:
          - path: \(DataTests.sharedFile("modal_docs.jsonl").path)
            type: completion
        """)
    let result = try Preprocessor(config: config, tokenizer: DatasetTestTokenizer()).prepare(rowLimit: 3)
    #expect(result.stats.trainRows < result.stats.trainExamples)
    #expect(result.stats.packingEfficiency > 0.9 && result.stats.trainedTokenShare == 1)
    for r in 0..<result.train.rowCount { #expect(result.train.row(r).inputIDs.count <= 256) }
}

@Test func cacheKeyCoversOutputFieldsTokenizerAndDataOnly() throws {
    let tok = DatasetTestTokenizer(addedTokens: sqlTokens)
    func key(_ overrides: [String], tokenizer: DatasetTestTokenizer? = nil, data: String = "d1") throws -> String {
        try Preprocessor(config: sharedConfig("mistral.yml", overrides), tokenizer: tokenizer ?? tok).cacheKey(dataDigests: [data])
    }
    let base = try key([])
    for changed in [["train_on_inputs=true"], ["chat_template=chatml"], ["sequence_len=2048"], ["seed=1"],
                    ["sample_packing=true"], ["datasets.0.type.format='{instruction}'"], ["special_tokens.eos_token=<unk>"]] {
        #expect(try key(changed) != base, "\(changed)")
    }
    #expect(try key([], tokenizer: DatasetTestTokenizer()) != base)
    #expect(try key([], data: "d2") != base)
    #expect(try key(["learning_rate=0.5", "output_dir=elsewhere", "lora_r=4"]) == base)
}

@Test func writingIsAtomicAndReplacesOnlyWhenWhole() throws {
    let tok = DatasetTestTokenizer(addedTokens: sqlTokens)
    let dir = try DataTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("prepared")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    try Data("old".utf8).write(to: out.appendingPathComponent("stale.txt"))
    try Preprocessor(config: sharedConfig("mistral.yml"), tokenizer: tok).run(into: out, dataDigests: [], rowLimit: 8)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["prepared"])  // no partial or old dirs left
    #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("stale.txt").path))
    // A destination that cannot be created fails without leaving anything behind.
    let blocker = dir.appendingPathComponent("file")
    try Data().write(to: blocker)
    #expect(throws: DatasetError.self) {
        try Preprocessor(config: sharedConfig("mistral.yml"), tokenizer: tok).run(into: blocker.appendingPathComponent("p"), dataDigests: [], rowLimit: 8)
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["file", "prepared"])
    // A damaged file is refused on read.
    let tokens = out.appendingPathComponent("train.tokens.i32")
    let data = try Data(contentsOf: tokens)
    try data.prefix(data.count - 4).write(to: tokens)
    let error = #expect(throws: DatasetError.self) { try PreparedDataset(directory: out) }
    #expect(error?.message.contains("inconsistent arrays") == true)
}

@Test func readerBatchesPadToSequenceLenWhenAsked() throws {
    let tok = DatasetTestTokenizer(addedTokens: sqlTokens)
    let dir = try DataTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("p")
    let config = try sharedConfig("mistral.yml", ["sequence_len=512", "sample_packing=true", "pad_to_sequence_len=true", "special_tokens.pad_token=<pad>"])
    try Preprocessor(config: config, tokenizer: tok).run(into: out, dataDigests: [], rowLimit: 24)
    let prepared = try PreparedDataset(directory: out)
    #expect(prepared.manifest.padTokenID == tok.id(forToken: "<pad>") && prepared.manifest.samplePacking)
    let batches = prepared.batches(of: "train", batchSize: 2)
    #expect(batches.count == (prepared.train.rowCount + 1) / 2)
    for b in batches {
        #expect(b.length == 512 && b.inputIDs.count == b.batchSize * 512)
        for (i, s) in b.segmentIDs.enumerated() where s < 0 {
            #expect(b.inputIDs[i] == tok.id(forToken: "<pad>")! && b.labels[i] == -100)
        }
    }
    // Packed rows hold every train example once.
    #expect(batches.reduce(0) { $0 + $1.segmentIDs.filter { $0 >= 0 }.count } == prepared.train.tokens.count)
}
