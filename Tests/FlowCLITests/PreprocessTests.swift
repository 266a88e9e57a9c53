import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("preprocessing in a workflow") struct PreprocessTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let tokenizer = root.appendingPathComponent("Tests/FlowLLMTests/Fixtures/tokenizer/llama2").path
    static let shared = root.deletingLastPathComponent().appendingPathComponent("shared/data")

    @Test func preprocOnlyPreparesDataThatVolumeGetAndInspectShow() throws {
        let p = try TemporaryProject("preprocess")
        try p.write("Workflows/F.swift", """
            import FlowKit
            import FlowLLM
            let f = Workflow("f") {
                Param("config", default: "\(Self.shared.path)/axolotl-configs/mistral-memorize.yml")
                Param("data", default: "\(Self.shared.path)/sqlqa.subsample.jsonl")
                Function("preprocess") { ctx in
                    try Preprocess(config: ctx.config, data: ctx.data, tokenizer: "\(Self.tokenizer)")
                        .run(into: ctx.output("prepared"), progress: ctx.progress, log: ctx.log)
                }
                Command("train", "echo would train on {preprocess/prepared}").needs("preprocess")
            }.preprocessing("preprocess")
            """)
        let run = try p.flow("run", "--preproc-only")
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let tag = try p.lastTag()
        #expect(try p.database().steps(of: tag).map(\.name) == ["preprocess"])
        let logs = try p.flow("logs", tag).stdout
        #expect(logs.contains("prepared 32 training examples"))
        #expect(logs.contains("GPU/runtime-only, ignored"))

        #expect(try p.flow("volume", "get", "last_run_prepared", "prepared").status == 0)
        let manifest = try JSONSerialization.jsonObject(
            with: Data(contentsOf: p.root.appendingPathComponent("prepared/manifest.json"))) as? [String: Any]
        #expect(manifest?["sequenceLen"] as? Int == 4096 || manifest?["sequence_len"] as? Int == 4096)
        #expect(FileManager.default.fileExists(atPath: p.root.appendingPathComponent("prepared/preview.jsonl").path))

        let inspect = try p.flow("inspect", "last_run_prepared", "--count", "1")
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("{-<s>"))
        #expect(inspect.stdout.contains("[/INST]-}{+"))
        #expect(inspect.stdout.contains("[/SQL]"))

        // Same config and data: cached; another data file: re-prepared.
        #expect(try p.flow("run", "--preproc-only").status == 0)
        #expect(try p.database().steps(of: try p.lastTag()).first?.status == .cached)
        try p.write("small.jsonl", try String(contentsOf: Self.shared.appendingPathComponent("sqlqa.subsample.jsonl"), encoding: .utf8)
            .split(separator: "\n").prefix(10).joined(separator: "\n") + "\n")
        #expect(try p.flow("run", "--preproc-only", "--data", "small.jsonl").status == 0)
        #expect(try p.database().steps(of: try p.lastTag()).first?.status == .succeeded)
        #expect(try p.flow("logs", try p.lastTag()).stdout.contains("prepared 5 training examples"))
    }

    @Test func aTokenizerTheConfigPointsAtIsPartOfTheCacheKey() throws {
        let p = try TemporaryProject("tokenizer-key")
        let config = try String(contentsOf: Self.shared.appendingPathComponent("axolotl-configs/mistral-memorize.yml"), encoding: .utf8)
        try p.write("config.yml", config + "\ntokenizer_config: tok\n")
        try p.write("data.jsonl", try String(contentsOf: Self.shared.appendingPathComponent("sqlqa.subsample.jsonl"), encoding: .utf8))
        let fm = FileManager.default
        try fm.copyItem(at: URL(fileURLWithPath: Self.tokenizer), to: p.root.appendingPathComponent("tok"))
        try p.write("Workflows/F.swift", """
            import FlowKit
            import FlowLLM
            let f = Workflow("f") {
                Param("config", default: "config.yml")
                Function("preprocess") { ctx in
                    try Preprocess(config: ctx.config).run(into: ctx.output("prepared"), log: ctx.log)
                }
                .cacheKey { ctx in try Preprocess(config: ctx.config).cacheKeyMaterial() }
            }
            """)
        #expect(try p.flow("run").status == 0)
        #expect(try p.flow("run").status == 0)
        #expect(try p.database().steps(of: try p.lastTag()).first?.status == .cached)
        // Same path, different tokenizer: the step must not reuse the stale prepared data.
        try fm.removeItem(at: p.root.appendingPathComponent("tok"))
        try fm.copyItem(at: URL(fileURLWithPath: Self.tokenizer).deletingLastPathComponent().appendingPathComponent("llama3"),
                        to: p.root.appendingPathComponent("tok"))
        let rerun = try p.flow("run")
        #expect(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
        #expect(try p.database().steps(of: try p.lastTag()).first?.status == .succeeded)
    }

    @Test func theConfigsNewTokensExtendTheVocabulary() throws {
        let p = try TemporaryProject("new-tokens")
        let config = try String(contentsOf: Self.shared.appendingPathComponent("axolotl-configs/mistral-memorize.yml"), encoding: .utf8)
        #expect(config.contains("tokens:"), "the shared config no longer declares new tokens")
        try p.write("config.yml", config)
        let out = try p.flow("llm", "preprocess", "--config", p.root.appendingPathComponent("config.yml").path,
                             "--data", Self.shared.appendingPathComponent("sqlqa.subsample.jsonl").path,
                             "--tokenizer", Self.tokenizer, "--out", p.root.appendingPathComponent("prepared").path)
        #expect(out.status == 0, "\(out.stderr)")
        let tokenized = try p.flow("llm", "tokenize", "--tokenizer", p.root.appendingPathComponent("prepared/tokenizer").path,
                                   "--json", "--no-special-tokens", "[SQL]")
        let original = try p.flow("llm", "tokenize", "--tokenizer", Self.tokenizer, "--json", "--no-special-tokens", "[SQL]")
        // One new id after the original vocabulary, where the original tokenizer needed several pieces.
        #expect(tokenized.stdout.contains("\"pieces\":[\"[SQL]\"]"), "\(tokenized.stdout)")
        #expect(!original.stdout.contains("\"pieces\":[\"[SQL]\"]"))
        let inspect = try p.flow("inspect", p.root.appendingPathComponent("prepared").path, "--count", "1")
        #expect(inspect.stdout.contains("{+[SQL]|"), "\(inspect.stdout)")
    }

    @Test func aMalformedLineNamesTheFileAndLine() throws {
        let p = try TemporaryProject("badline")
        try p.write("bad.jsonl", "{\"question\": \"q\", \"context\": \"c\", \"answer\": \"a\"}\n{not json\n")
        let out = try p.flow("llm", "preprocess", "--config", Self.shared.appendingPathComponent("axolotl-configs/mistral-memorize.yml").path,
                             "--data", p.root.appendingPathComponent("bad.jsonl").path, "--tokenizer", Self.tokenizer,
                             "--out", p.root.appendingPathComponent("out").path)
        #expect(out.status == 2)
        #expect(out.stderr.contains("bad.jsonl:2"), "\(out.stderr)")
        #expect(!FileManager.default.fileExists(atPath: p.root.appendingPathComponent("out").path))
    }
}
