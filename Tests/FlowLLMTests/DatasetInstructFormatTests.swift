import Foundation
import Testing
import FlowLLM

// Expected prompts are written out by hand from Axolotl's prompters (reference file, "Dataset types").
// The test tokenizer maps each UTF-8 byte to its value and <s> = 257, </s> = 258.

@Test func alpacaWithInputMasksThePromptAndAppendsEOS() throws {
    let tok = DatasetTestTokenizer()
    let s = try DataTests.strategy("datasets:\n  - path: x.jsonl\n    type: alpaca\n", tokenizer: tok)
    let e = try #require(try s.tokenize(DataTests.row(#"{"instruction": "Add", "input": "1 2", "output": "3"}"#)).first)
    let prompt = "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nAdd\n\n### Input:\n1 2\n\n### Response:\n"
    #expect(e.inputIDs == [257] + DataTests.bytes(prompt) + [51, 258])
    #expect(e.labels == [Int32](repeating: -100, count: 1 + prompt.utf8.count) + [51, 258])
}

@Test func alpacaWithoutInputUsesTheNoInputPrompt() throws {
    let tok = DatasetTestTokenizer()
    let s = try DataTests.strategy("datasets:\n  - path: x.jsonl\n    type: alpaca\ntrain_on_inputs: true\n", tokenizer: tok)
    for json in [#"{"instruction": "Say hi", "output": "hi"}"#, #"{"instruction": "Say hi", "input": "", "output": "hi"}"#] {
        let e = try #require(try s.tokenize(DataTests.row(json)).first)
        #expect(tok.decode(e.inputIDs, skipSpecialTokens: false)
            == "<s>Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nSay hi\n\n### Response:\nhi</s>")
        #expect(e.labels == e.inputIDs)  // train_on_inputs: everything trained
    }
}

@Test func userDefinedSQLFormatRendersLikeAxolotl() throws {
    let tokens = ["[INST]", " [/INST]", "[SQL]", " [/SQL]"]
    let tok = DatasetTestTokenizer(addedTokens: tokens)
    let config = try AxolotlConfig.load(from: DataTests.sharedFile("axolotl-configs/mistral.yml"))
    let pre = Preprocessor(config: config, tokenizer: tok)
    let s = try DatasetPromptStrategyFactory.make(for: config.datasets[0], in: config, context: pre.tokenizationContext())
    let row = try DataTests.row(#"{"question": "How many heads of the departments are older than 56 ?", "context": "CREATE TABLE head (age INTEGER)", "answer": "[SQL] SELECT COUNT(*) FROM head WHERE age > 56 [/SQL]"}"#)
    let e = try #require(try s.tokenize(row).first)
    let inst = tok.id(forToken: "[INST]")!, endInst = tok.id(forToken: " [/INST]")!
    let sql = tok.id(forToken: "[SQL]")!, endSQL = tok.id(forToken: " [/SQL]")!
    let prompt: [Int32] = [257, inst] + DataTests.bytes(" Using the schema context below, generate a SQL query that answers the question.\nCREATE TABLE head (age INTEGER)\nHow many heads of the departments are older than 56 ?") + [endInst]
    let response: [Int32] = [sql] + DataTests.bytes(" SELECT COUNT(*) FROM head WHERE age > 56") + [endSQL, 258]
    #expect(e.inputIDs == prompt + response)
    #expect(e.labels == [Int32](repeating: -100, count: prompt.count) + response)
    #expect(e.sourceLine == 1)
}

@Test func userDefinedSystemComesFromTheRowElseTheSystemPrompt() throws {
    let yaml = """
    datasets:
      - path: x.jsonl
        type:
          system_prompt: Be brief.
          system_format: "SYS: {system}\\n"
          format: "Q: {instruction} ({input}) A: "
          no_input_format: "Q: {instruction} A: "
    """
    let tok = DatasetTestTokenizer()
    let s = try DataTests.strategy(yaml, tokenizer: tok)
    func text(_ json: String) throws -> String {
        tok.decode(try #require(try s.tokenize(DataTests.row(json)).first).inputIDs, skipSpecialTokens: false)
    }
    #expect(try text(#"{"instruction": "a", "input": "b", "output": "c"}"#) == "<s>SYS: Be brief.\nQ: a (b) A: c</s>")
    #expect(try text(#"{"instruction": "a", "output": "c", "system": "Row"}"#) == "<s>SYS: Row\nQ: a A: c</s>")
}

@Test func responseEOSFollowsAxolotlsLengthAndLastTokenRules() throws {
    let tok = DatasetTestTokenizer()
    // Already ending in EOS: no second EOS.
    let s = try DataTests.strategy("sequence_len: 64\ndatasets:\n  - path: x.jsonl\n    type: {format: \"{instruction}\", no_input_format: \"{instruction}\"}\n", tokenizer: tok)
    let e = try #require(try s.tokenize(DataTests.row(#"{"instruction": "q", "output": "done</s>"}"#)).first)
    #expect(e.inputIDs == [257, 113] + DataTests.bytes("done") + [258])
    // Each part is truncated to sequence_len; a response filling it gets no EOS (BOS stripped after).
    let short = try DataTests.strategy("sequence_len: 4\ndatasets:\n  - path: x.jsonl\n    type: {format: \"{instruction}\", no_input_format: \"{instruction}\"}\n", tokenizer: tok)
    let t = try #require(try short.tokenize(DataTests.row(#"{"instruction": "q", "output": "abcdef"}"#)).first)
    #expect(t.inputIDs == [257, 113] + DataTests.bytes("abc"))
    #expect(t.labels == [-100, -100] + DataTests.bytes("abc"))
}

@Test func completionAppendsEOSAndCutsIntoSequenceLenChunks() throws {
    let s = try DataTests.strategy("sequence_len: 8\ndatasets:\n  - path: x.jsonl\n    type: completion\n")
    let chunks = try s.tokenize(DataTests.row(#"{"text": "abcdefghijklmnop"}"#))
    #expect(chunks.map(\.inputIDs) == [[257] + DataTests.bytes("abcdefg"), DataTests.bytes("hijklmno"), DataTests.bytes("p") + [258]])
    #expect(chunks.allSatisfy { $0.labels == $0.inputIDs })
    let custom = try DataTests.strategy("datasets:\n  - path: x.jsonl\n    type: completion\n    field: body\n")
    #expect(try custom.tokenize(DataTests.row(#"{"body": "hi"}"#)).first?.inputIDs == [257, 104, 105, 258])
}

@Test func inputOutputMasksUnlabelledSegments() throws {
    let tok = DatasetTestTokenizer()
    let rows = try JSONLDatasetReader.read(DataTests.fixture("input_output.jsonl"))
    let s = try DataTests.strategy("datasets:\n  - path: x.jsonl\n    type: input_output\n", tokenizer: tok)
    let e = try #require(try s.tokenize(rows[0]).first)
    #expect(e.inputIDs == [257] + DataTests.bytes("Q: hi\nA: yo") + [258])
    #expect(e.labels == [Int32](repeating: -100, count: 7) + DataTests.bytes("A: yo") + [258])
    let all = try DataTests.strategy("train_on_inputs: true\ndatasets:\n  - path: x.jsonl\n    type: input_output\n", tokenizer: tok)
    #expect(try all.tokenize(rows[0]).first?.labels == e.inputIDs)
}
