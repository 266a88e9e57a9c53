// flow's side of the eval benchmark (docs/benchmarks-eval.md), built against the release FlowRuntime by run.sh:
// (1) `sql_valid` on every reference answer of sqlqa.jsonl: checks per second, and how many of the dataset's own
// answers SQLite accepts against their CREATE TABLE context; (2) an `Evaluation` of the tiny generation fixture over
// sqlqa prompts against the bare `TextGenerator.generate` loop on the same prompts: what the runner adds
// (checks, predictions.jsonl, metrics.json) to generation time.
import Foundation
import FlowLLM

let arguments = CommandLine.arguments
guard arguments.count >= 4 else {
    print("usage: eval-benchmark SQLQA_JSONL MODEL_DIR TOKENIZER_DIR [CASES] [MAX_TOKENS] [REPEATS]")
    exit(2)
}
let rows = try JSONLDatasetReader.read(URL(fileURLWithPath: arguments[1]))
let caseCount = arguments.count > 4 ? Int(arguments[4]) ?? 64 : 64
let maxTokens = arguments.count > 5 ? Int(arguments[5]) ?? 32 : 32
let repeats = arguments.count > 6 ? Int(arguments[6]) ?? 3 : 3

func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

/// sqlqa's prompt, as the shared mistral.yml config renders it.
func prompt(_ row: DatasetRow) throws -> String {
    "[INST] Using the schema context below, generate a SQL query that answers the question.\n"
        + (try row.requiredText("context", for: "prompt")) + "\n" + (try row.requiredText("question", for: "prompt")) + " [/INST]"
}
let cases = try rows.map {
    EvalCase(prompt: try prompt($0), expected: try $0.requiredText("answer", for: "expected"), fields: $0.fields,
             source: "\($0.file):\($0.line)")
}

// (1) sql_valid on the reference answers.
var best = Double.infinity
var failures: [String: Int] = [:]
for _ in 0..<repeats {
    failures = [:]
    let start = DispatchTime.now().uptimeNanoseconds
    for c in cases {
        let verdict = EvalCheck.sqlValid.verdict(c, output: c.expected)
        if let reason = verdict.reason {
            // "SQLite: no such column: x" -> "SQLite: no such column"
            failures[reason.split(separator: ":").prefix(2).joined(separator: ":"), default: 0] += 1
        }
    }
    best = min(best, seconds(since: start))
}
let failed = failures.values.reduce(0, +)
print(String(format: "sql_valid: %d reference answers in %.3f s (%.0f checks/s, best of %d); %d pass (%.1f%%)",
             cases.count, best, Double(cases.count) / best, repeats, cases.count - failed,
             100 * Double(cases.count - failed) / Double(cases.count)))
for (reason, count) in failures.sorted(by: { $0.value > $1.value }) { print("  \(count) fail: \(reason)") }

// (2) the runner against the bare generation loop.
let generator = try TextGenerator(model: URL(fileURLWithPath: arguments[2]), tokenizer: URL(fileURLWithPath: arguments[3]))
let options = GenerationOptions(maxTokens: maxTokens)
let evaluated = Array(cases.prefix(caseCount))
let evaluation = try Evaluation(generator: generator, options: options, checks: [.sqlValid])
let out = FileManager.default.temporaryDirectory.appendingPathComponent("flow-eval-benchmark-\(getpid())")
defer { try? FileManager.default.removeItem(at: out) }
var bare = Double.infinity, run = Double.infinity, tokens = 0
var summary: EvalSummary?
for _ in 0..<repeats {
    var start = DispatchTime.now().uptimeNanoseconds
    tokens = 0
    for c in evaluated { tokens += try generator.generate(prompt: c.prompt, options: options).completionTokens }
    bare = min(bare, seconds(since: start))
    start = DispatchTime.now().uptimeNanoseconds
    summary = try evaluation.run(evaluated, into: out)
    run = min(run, seconds(since: start))
}
print(String(format: "generate loop: %d cases, %d tokens in %.3f s (%.0f tokens/s, best of %d)",
             evaluated.count, tokens, bare, Double(tokens) / bare, repeats))
print(String(format: "Evaluation.run: %d tokens in %.3f s wall (%.0f tokens/s; metrics.json says %.0f); runner overhead %.1f%%",
             summary?.generatedTokens ?? 0, run, Double(summary?.generatedTokens ?? 0) / run, summary?.tokensPerSecond ?? 0,
             100 * (run - bare) / bare))
