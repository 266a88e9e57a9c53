import Foundation
import Testing
import FlowLLM

/// Helpers of the eval area's tests.
enum EvalTests {
    /// Rows of ../shared/data/sqlqa.jsonl, by 1-based line number.
    static func sqlqaRows() throws -> [Int: DatasetRow] {
        let rows = try JSONLDatasetReader.read(DataTests.sharedFile("sqlqa.jsonl"))
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.line, $0) })
    }

    /// An eval case made from a sqlqa row: its fields kept, the expected answer the row's `answer`.
    static func sqlqaCase(_ row: DatasetRow) throws -> EvalCase {
        EvalCase(prompt: try row.requiredText("question", for: "test"), expected: try row.requiredText("answer", for: "test"),
                 fields: row.fields, source: "\(row.file):\(row.line)")
    }

    /// The shared `mistral.yml` config (sqlqa's instruction format, its `[INST]`/`[SQL]` tokens) over `data`.
    static func mistralConfig(data: URL, overrides: [String] = []) -> Preprocess {
        Preprocess(config: DataTests.sharedFile("axolotl-configs/mistral.yml").path, data: data.path, overrides: overrides,
                   tokenizer: (try? GenerationFixtures.tokenizerDirectory.path) ?? "")
    }

    /// The first `count` lines of sqlqa.jsonl written to `directory/data.jsonl`.
    static func sqlqaHead(_ count: Int, in directory: URL) throws -> URL {
        let lines = try String(contentsOf: DataTests.sharedFile("sqlqa.jsonl"), encoding: .utf8).split(separator: "\n").prefix(count)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("data.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }
}
