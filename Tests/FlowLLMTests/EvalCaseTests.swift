import Foundation
import Testing
import FlowLLM

/// Eval cases from prepared data (split at the label mask) and from a test file rendered as preprocessing does.
@Suite struct EvalCaseTests {
    /// A prepared dataset of the first `rows` sqlqa rows under mistral.yml, with the llama2 fixture tokenizer.
    private func prepare(rows: Int, overrides: [String] = [], in dir: URL) throws -> (prepared: URL, data: URL) {
        let data = try EvalTests.sqlqaHead(rows, in: dir)
        let out = dir.appendingPathComponent("prepared")
        try EvalTests.mistralConfig(data: data, overrides: overrides).run(into: out)
        return (out, data)
    }

    private func promptIDs(_ example: TokenizedExample) throws -> [Int32] {
        Array(example.inputIDs[..<(try #require(example.labels.firstIndex { $0 != TokenizedExample.ignoredLabel }))])
    }

    private func collapsed(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    @Test func preparedCasesSplitAtTheLabelMask() throws {
        let dir = try DataTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (out, _) = try prepare(rows: 40, in: dir)
        let cases = try EvalCase.load(preparedDataset: out)
        let prepared = try PreparedDataset(directory: out)
        let rows = try EvalTests.sqlqaRows()
        let tokenizer = try Tokenizer(directory: out.appendingPathComponent("tokenizer"))
        #expect(cases.count == 2 && prepared.eval.exampleCount == 2)  // val_set_size 0.05 of 40
        for (i, c) in cases.enumerated() {
            let example = prepared.eval.example(i)
            let row = try #require(rows[example.sourceLine])
            #expect(c.promptIDs == (try promptIDs(example)))
            #expect(c.promptIDs?.last == tokenizer.id(forToken: " [/INST]"))
            // The trained tokens decoded: the answer, up to the extra space Llama's tokenizer puts after `[SQL]`.
            #expect(c.expected == tokenizer.decode(Array(example.inputIDs[c.promptIDs!.count..<(example.inputIDs.count - 1)]), skipSpecialTokens: true))
            #expect(collapsed(c.expected) == (try row.requiredText("answer", for: "test")))
            #expect(c.prompt.contains(try row.requiredText("question", for: "test")))
            #expect(c.fields.isEmpty)
            #expect(c.source == "eval example \(i) (data line \(example.sourceLine))")
        }
    }

    @Test func aSampleOfTheTrainSplitIsSeeded() throws {
        let dir = try DataTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (out, _) = try prepare(rows: 40, in: dir)
        let a = try EvalCase.load(preparedDataset: out, split: "train", sample: 5, seed: 3).map(\.source)
        let b = try EvalCase.load(preparedDataset: out, split: "train", sample: 5, seed: 3).map(\.source)
        let c = try EvalCase.load(preparedDataset: out, split: "train", sample: 5, seed: 4).map(\.source)
        #expect(a.count == 5 && Set(a).count == 5)
        #expect(a == b && a != c)
        #expect(try EvalCase.load(preparedDataset: out, split: "train", sample: 500).count == 38)
        #expect(throws: EvalError.self) { try EvalCase.load(preparedDataset: out, split: "test") }
    }

    @Test func testFileCasesRenderExactlyAsPreprocessingDoes() throws {
        let dir = try DataTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (out, data) = try prepare(rows: 40, in: dir)
        let step = EvalTests.mistralConfig(data: data)
        let config = try step.loadConfig()
        let cases = try EvalCase.load(testFile: data, config: config, tokenizer: try step.loadTokenizer(for: config))
        let rows = try EvalTests.sqlqaRows()
        #expect(cases.count == 40)
        let prepared = try PreparedDataset(directory: out)
        let evalCases = try EvalCase.load(preparedDataset: out)
        for (i, preparedCase) in evalCases.enumerated() {
            let c = cases[prepared.eval.example(i).sourceLine - 1]
            #expect(c.promptIDs == preparedCase.promptIDs && c.expected == preparedCase.expected)
        }
        for split in [prepared.train, prepared.eval] {
            for i in 0..<split.exampleCount {
                let example = split.example(i)
                let c = cases[example.sourceLine - 1]
                #expect(c.source == "\(data.path):\(example.sourceLine)")
                #expect(c.promptIDs == (try promptIDs(example)))
                #expect(collapsed(c.expected) == rows[example.sourceLine]?.fields["answer"]?.text)
                #expect(c.field("context") == rows[example.sourceLine]?.fields["context"]?.text)
            }
        }
        // Training on inputs leaves nothing masked in prepared data, but a test file's prompt is still masked.
        let trainOnInputs = EvalTests.mistralConfig(data: data, overrides: ["train_on_inputs=true"])
        let unmasked = try trainOnInputs.loadConfig()
        let again = try EvalCase.load(testFile: data, config: unmasked, tokenizer: try trainOnInputs.loadTokenizer(for: unmasked))
        #expect(again.map(\.promptIDs) == cases.map(\.promptIDs))
    }

    @Test func preparedDataWithoutAMaskedPromptIsRefused() throws {
        let dir = try DataTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (out, _) = try prepare(rows: 20, overrides: ["train_on_inputs=true"], in: dir)
        let error = try #require(throws: EvalError.self) { try EvalCase.load(preparedDataset: out) }
        #expect(error.message.contains("has no masked prompt") && error.message.contains("train_on_inputs"))
        let (noEval, _) = try prepare(rows: 20, overrides: ["val_set_size=0"], in: dir.appendingPathComponent("b"))
        let missing = try #require(throws: EvalError.self) { try EvalCase.load(preparedDataset: noEval) }
        #expect(missing.message.contains("no `eval` examples (val_set_size is 0)"))
    }

    @Test func aMalformedTestLineIsReportedWithFileAndLine() throws {
        let dir = try DataTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try EvalTests.sqlqaHead(2, in: dir)
        let test = dir.appendingPathComponent("test.jsonl")
        try (String(contentsOf: data, encoding: .utf8) + "{\"question\": \"How many?\", \"context\": \n").write(to: test, atomically: true, encoding: .utf8)
        let step = EvalTests.mistralConfig(data: data)
        let config = try step.loadConfig()
        let error = try #require(throws: DatasetError.self) {
            try EvalCase.load(testFile: test, config: config, tokenizer: try step.loadTokenizer(for: config))
        }
        #expect(error.message.hasPrefix("\(test.path):3: malformed JSON"), "\(error)")
        // A row without the format's fields names the field and the line too.
        try "{\"question\": \"How many?\"}\n".write(to: test, atomically: true, encoding: .utf8)
        let missing = try #require(throws: DatasetError.self) {
            try EvalCase.load(testFile: test, config: config, tokenizer: try step.loadTokenizer(for: config))
        }
        #expect(missing.message.hasPrefix("\(test.path):1: row has no field `answer`"), "\(missing)")
    }
}
