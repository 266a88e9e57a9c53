import Foundation
import Testing
import FlowLLM

/// Helpers of the data area's tests (namespaced so other areas' test helpers cannot clash).
enum DataTests {
    /// A fixture file of the data area.
    static func fixture(_ name: String) throws -> URL {
        let base = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
        return try #require(Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "Fixtures/data"))
    }

    /// A file of the shared data directory, `../shared/data/` from the package root.
    static func sharedFile(_ path: String, file: String = #filePath) -> URL {
        URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/data").appendingPathComponent(path).standardizedFileURL
    }

    /// One row parsed from JSON text.
    static func row(_ json: String, line: Int = 1) throws -> DatasetRow {
        try JSONLDatasetReader.parseLine(Data(json.utf8), file: "test.jsonl", line: line)
    }

    /// Byte ids of `text` (the test tokenizer's encoding of text without special tokens).
    static func bytes(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }

    /// The decoded trained spans of an example, in order.
    static func trainedTexts(_ example: TokenizedExample, _ tokenizer: any PromptTokenizer) -> [String] {
        PreparedExamplePreview(example, tokenizer: tokenizer).segments.filter(\.trained).map(\.text)
    }

    /// A fresh empty temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("flow-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The one strategy of a single-dataset config given as YAML.
    static func strategy(_ yaml: String, tokenizer: DatasetTestTokenizer = DatasetTestTokenizer()) throws -> any DatasetPromptStrategy {
        let config = try AxolotlConfig.parse(yaml: yaml, file: "test.yml")
        let pre = Preprocessor(config: config, tokenizer: tokenizer)
        return try DatasetPromptStrategyFactory.make(for: try #require(config.datasets.first), in: config, context: try pre.tokenizationContext())
    }
}
