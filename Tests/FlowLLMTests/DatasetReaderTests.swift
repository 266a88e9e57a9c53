import Foundation
import Testing
import FlowLLM

@Test func jsonlReaderSkipsBlankLinesAndKeepsLineNumbers() throws {
    let rows = try JSONLDatasetReader.read(DataTests.fixture("alpaca.jsonl"))
    #expect(rows.map(\.line) == [1, 2, 4])
    #expect(rows[2].fields["output"] == .string("1 2 3"))
}

@Test func malformedLineErrorNamesFileAndLine() throws {
    let url = try DataTests.fixture("malformed.jsonl")
    let error = #expect(throws: DatasetError.self) { try JSONLDatasetReader.read(url) }
    #expect(error?.message.hasPrefix("\(url.path):2: malformed JSON") == true)
}

@Test func nonObjectLineIsRejectedWithItsLine() throws {
    let error = #expect(throws: DatasetError.self) { try JSONLDatasetReader.parse(Data("{\"a\": 1}\n[1, 2]\n".utf8), file: "d.jsonl") }
    #expect(error?.message == "d.jsonl:2: expected a JSON object, found array; each line must be one JSON object")
}

@Test func missingFieldNamesTheFieldTheLineAndTheRowsFields() throws {
    let s = try DataTests.strategy("datasets:\n  - path: x.jsonl\n    type: {field_instruction: question, field_output: answer}\n")
    let error = #expect(throws: DatasetError.self) { try s.tokenize(DataTests.row(#"{"question": "q", "reply": "r"}"#, line: 7)) }
    #expect(error?.message.hasPrefix("test.jsonl:7: row has no field `answer`") == true)
    #expect(error?.message.contains("it has `question`, `reply`") == true)
}

@Test func booleansAndNumbersAreToldApart() throws {
    let row = try DataTests.row(#"{"b": true, "n": 1, "x": 2.5}"#)
    #expect(row.fields["b"] == .bool(true))
    #expect(row.fields["n"] == .number(1))
    #expect(row.fields["n"]?.text == "1")
    #expect(row.fields["x"]?.text == "2.5")
}

@Test func byteOrderMarkAndCRLFLinesAreRead() throws {
    let data = Data([0xEF, 0xBB, 0xBF] + Array("{\"text\": \"a\"}\r\n{\"text\": \"b\"}\r\n".utf8))
    let rows = try JSONLDatasetReader.parse(data, file: "w.jsonl")
    #expect(rows.map(\.fields["text"]) == [.string("a"), .string("b")])
    #expect(rows.map(\.line) == [1, 2])
}
