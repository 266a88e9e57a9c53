import FlowEngine
import FlowTesting
import Foundation
import Testing

/// `flow llm eval`, and an eval step in a workflow whose numbers become run metrics.
@Suite("flow llm eval") struct LLMEvalTests {
    static let tokenizer = LLMVerbTests.fixtures.appendingPathComponent("tokenizer/llama2")
    static let model = LLMVerbTests.fixtures.appendingPathComponent("generate/model")

    /// A project with the tiny fixture model as `base`, the fixture tokenizer as `tok`, sqlqa rows 1–40 in
    /// `data.jsonl`, rows 41–43 in `test.jsonl`, and the shared Axolotl config for sqlqa as `config.yml`
    /// (its `[INST]`/`[SQL]` tokens, val_set_size 0.05: 2 eval rows).
    private func project(_ name: String) throws -> TemporaryProject {
        let p = try TemporaryProject(name)
        let fm = FileManager.default
        try fm.copyItem(at: Self.model, to: p.root.appendingPathComponent("base"))
        try fm.copyItem(at: Self.tokenizer, to: p.root.appendingPathComponent("tok"))
        try fm.copyItem(at: LLMVerbTests.sqlqa.deletingLastPathComponent().appendingPathComponent("axolotl-configs/mistral.yml"),
                        to: p.root.appendingPathComponent("config.yml"))
        let rows = try String(contentsOf: LLMVerbTests.sqlqa, encoding: .utf8).split(separator: "\n")
        try p.write("data.jsonl", rows.prefix(40).joined(separator: "\n") + "\n")
        try p.write("test.jsonl", rows[40..<43].joined(separator: "\n") + "\n")
        return p
    }

    private func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func evaluatesPreparedDataAndATestFileFromTheCommandLine() throws {
        let p = try project("llm-eval")
        #expect(try p.flow("llm", "preprocess", "--config", "config.yml", "--data", "data.jsonl", "--tokenizer", "tok",
                           "--out", "prepared").status == 0)
        let prepared = try p.flow("llm", "eval", "--model", "base", "--data", "prepared", "--check", "sql-valid",
                                  "--max-tokens", "4", "--out", "ev", "--json")
        #expect(prepared.status == 0, "\(prepared.stderr)")
        let metrics = try json(prepared.stdout)
        #expect(metrics["count"] as? Int == 2)
        #expect((metrics["pass_rates"] as? [String: Double])?.keys.sorted() == ["exact_match", "sql_valid"])
        let lines = try String(contentsOf: p.root.appendingPathComponent("ev/predictions.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let tokens = try lines.map { try json(String($0))["completion_tokens"] as? Int ?? -1 }
        #expect(metrics["generated_tokens"] as? Int == tokens.reduce(0, +) && tokens.allSatisfy { (1...4).contains($0) })
        #expect(try json(String(contentsOf: p.root.appendingPathComponent("ev/metrics.json"), encoding: .utf8))["count"] as? Int == 2)

        let test = try p.flow("llm", "eval", "--model", "base", "--tokenizer", "tok", "--test", "test.jsonl", "--config", "config.yml",
                              "--max-tokens", "2", "--out", "ev-test")
        #expect(test.status == 0, "\(test.stderr)")
        #expect(test.stdout.contains("evaluated 3 cases: exact_match 0.0%"), "\(test.stdout)")
        let first = try json(String(try String(contentsOf: p.root.appendingPathComponent("ev-test/predictions.jsonl"), encoding: .utf8)
            .split(separator: "\n")[0]))
        #expect((first["source"] as? String)?.hasSuffix("test.jsonl:1") == true)
        let prompt = try #require(first["prompt"] as? String)
        #expect(prompt.hasPrefix("<s>[INST]") && prompt.contains("Using the schema context below") && prompt.hasSuffix(" [/INST]"), "\(prompt)")
    }

    @Test func badInputIsRefusedWithoutWritingOutputs() throws {
        let p = try project("llm-eval-bad")
        try p.write("bad.jsonl", "{\"question\": \"q\", \"context\": \"CREATE TABLE t (a INT)\", \"answer\": \"[SQL] SELECT a FROM t [/SQL]\"}\n{not json\n")
        let bad = try p.flow("llm", "eval", "--model", "base", "--tokenizer", "tok", "--test", "bad.jsonl", "--config", "config.yml",
                             "--out", "ev")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("bad.jsonl:2: malformed JSON"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: p.root.appendingPathComponent("ev").path))

        let unknown = try p.flow("llm", "eval", "--model", "base", "--tokenizer", "tok", "--test", "test.jsonl", "--config", "config.yml",
                                 "--check", "sql-pretty", "--out", "ev")
        #expect(unknown.status == 2 && unknown.stderr.contains("unknown check `sql-pretty`"), "\(unknown.stderr)")
        let both = try p.flow("llm", "eval", "--model", "base", "--data", "prepared", "--test", "test.jsonl", "--out", "ev")
        #expect(both.status != 0 && both.stderr.contains("give either --data PREPARED or --test FILE --config FILE"), "\(both.stderr)")
    }

    @Test func anEvalStepsNumbersAreRunMetricsAndItsOutputsDownloadable() throws {
        let p = try project("eval-step")
        try p.write("Workflows/F.swift", """
            import FlowKit
            import FlowLLM
            import Foundation
            let f = Workflow("f") {
                Function("preprocess") { ctx in
                    try Preprocess(config: "config.yml", data: "data.jsonl", tokenizer: "tok").run(into: ctx.output("prepared"), log: ctx.log)
                }
                Function("eval") { ctx in
                    let prepared = try ctx.input("preprocess/prepared")
                    let cases = try EvalCase.load(preparedDataset: prepared)
                    let long = EvalCheck("long_prompt") { c, _ in .check(c.prompt.count > 200, "short prompt") }
                    try Evaluation(model: URL(fileURLWithPath: "base"), tokenizer: prepared.appendingPathComponent("tokenizer"),
                                   options: GenerationOptions(maxTokens: 3), checks: [.sqlValid, long])
                        .run(cases, into: ctx.output("results"), progress: ctx.progress, log: ctx.log)
                }
                .needs("preprocess")
            }
            """)
        let run = try p.flow("run")
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let tag = try p.lastTag()
        let show = try p.flow("runs", "show", tag)
        for name in ["count = 2", "exact_match = 0", "sql_valid = 0", "long_prompt = ", "tokens_per_second = "] {
            #expect(show.stdout.contains("eval/eval/\(name)"), "\(show.stdout)")
        }
        let metrics = try p.flow("volume", "get", "runs/\(tag)/eval/results/metrics.json", "-")
        #expect(metrics.status == 0, "\(metrics.stderr)")
        let numbers = try json(metrics.stdout)
        #expect(numbers["count"] as? Int == 2)
        let predictions = try p.flow("volume", "get", "runs/\(tag)/eval/results/predictions.jsonl", "-")
        let lines = predictions.stdout.split(separator: "\n").map { try? json(String($0)) }
        #expect(lines.count == 2)
        let long = lines.filter { (($0?["prompt"] as? String)?.count ?? 0) > 200 }.count
        let passing = lines.filter { (($0?["checks"] as? [String: Any])?["long_prompt"] as? [String: Any])?["passed"] as? Bool == true }
        #expect(passing.count == long)
        #expect((numbers["pass_rates"] as? [String: Double])?["long_prompt"] == Double(long) / 2)
        #expect(show.stdout.contains("eval/eval/long_prompt = \(String(format: "%.6g", Double(long) / 2))"), "\(show.stdout)")
    }
}
