import FlowEngine
import FlowTesting
import Foundation
import Testing

/// What a user sees of a run: the live graph on a terminal, the closing summary, `runs show`'s loss chart and
/// `flow report`'s page.
@Suite("what the user sees") struct PresentationTests {
    let workflow = """
        import FlowKit
        import Foundation
        let w = Workflow("learn") {
            Function("train") { ctx in
                for i in 1...20 {
                    ctx.progress.update(completed: Double(i), total: 20, metrics: ["loss": 4.0 / Double(i)], step: i)
                    if i % 5 == 0 { ctx.progress.record(["eval_loss": 5.0 / Double(i)], step: i, series: "eval") }
                }
                try "weights".write(to: try ctx.output("model").appendingPathComponent("w.txt"), atomically: true, encoding: .utf8)
            }
            Function("eval") { ctx in
                _ = try ctx.input("train/model")
                let rows = [#"{"prompt": "<q>", "expected": "a", "output": "a"}"#, #"{"prompt": "r", "expected": "b", "output": "c"}"#]
                try (rows.joined(separator: "\\n") + "\\n").write(to: try ctx.output("results").appendingPathComponent("predictions.jsonl"), atomically: true, encoding: .utf8)
                ctx.progress.record(["exact_match": 0.5])
            }
            .needs("train")
            Command("which", "command -v flow > {output/where}/flow")
        }
        """

    /// `flow`, `flow --help`, a group without its subcommand, a verb's `--help` and `flow --version` print on
    /// standard output and exit 0 (they once printed nothing: a group asks for its help from run(), which exited silently).
    @Test func helpIsPrintedForEveryLevelOfTheCommandLine() throws {
        let p = try TemporaryProject("help")
        for (arguments, expected) in [([String](), ["USAGE: flow <subcommand>", "run", "volume", "hosts"]),
                                      (["--help"], ["USAGE: flow <subcommand>", "logs", "report"]),
                                      (["llm"], ["USAGE: flow llm <subcommand>", "train", "merge", "serve"]),
                                      (["llm", "train", "--help"], ["USAGE: flow llm train", "--config", "--resume"]),
                                      (["run", "--help"], ["--detach", "--preproc-only", "--host"]),
                                      (["--version"], [FlowVersion.current])] {
            let result = try p.flow(arguments: arguments)
            #expect(result.status == 0, "flow \(arguments): \(result.stderr)")
            for text in expected {
                #expect(result.stdout.contains(text), "flow \(arguments) lacks \(text): \(result.stdout)")
            }
        }
        let wrong = try p.flow("llm", "trian")
        #expect(wrong.status == 2 && wrong.stdout.isEmpty && wrong.stderr.contains("trian"), "\(wrong.stderr)")
    }

    @Test func aTerminalGetsALiveGraphAndEveryRunEndsWithASummary() throws {
        let p = try TemporaryProject("live")
        try p.write("Workflows/Learn.swift", workflow)
        // A real terminal: util-linux's `script` runs flow on a pseudo-terminal.
        let flow = TemporaryProject.flowExecutable.path
        let live = try p.run("/usr/bin/script", ["-qfec", "\(flow) run", "/dev/null"])
        #expect(live.status == 0, "\(live.stdout)")
        #expect(live.stdout.contains("\u{1B}[J"), "the graph is redrawn in place")
        #expect(live.stdout.contains("✓ train") && live.stdout.contains("✓ eval"), "\(live.stdout)")
        #expect(live.stdout.contains("run succeeded learn-"), "\(live.stdout)")
        #expect(live.stdout.contains("eval: exact_match 0.5"))
        #expect(live.stdout.contains("train: final loss 0.2"))
        #expect(live.stdout.contains("flow report learn-"))

        // No terminal: plain lines, no cursor movement; a cached run still reports the scores it reused.
        let plain = try p.flow("run")
        #expect(plain.status == 0)
        #expect(!plain.stdout.contains("\u{1B}["), "\(plain.stdout)")
        #expect(plain.stdout.contains("0 ran, 3 cached"), "\(plain.stdout)")
        #expect(plain.stdout.contains("eval: exact_match 0.5"), "\(plain.stdout)")
        // Command steps find the flow that runs them on their PATH.
        let tag = try p.lastTag()
        let found = try p.flow("volume", "get", "runs/\(tag)/which/where/flow", "-").stdout
        #expect(found.trimmingCharacters(in: .whitespacesAndNewlines) == flow)
    }

    @Test func runsShowDrawsTheLossCurveAndReportWritesOnePage() throws {
        let p = try TemporaryProject("report")
        try p.write("Workflows/Learn.swift", workflow)
        #expect(try p.flow("run").status == 0)
        let tag = try p.lastTag()
        let show = try p.flow("runs", "show", tag).stdout
        #expect(show.contains("eval: exact_match 0.5"), "\(show)")
        #expect(show.contains("• train loss 4 → 0.2"), "\(show)")
        #expect(show.contains("◆ train eval_loss 1 → 0.25"), "\(show)")
        let grid = show.split(separator: "\n").filter { $0.contains("│") }
        #expect(grid.joined().filter { $0 == "•" }.count >= 10, "\(show)")

        let report = try p.flow("report", tag)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("volumes/reports/\(tag).html"))
        let html = try String(contentsOf: p.project.storeDirectory.appendingPathComponent("reports/\(tag).html"), encoding: .utf8)
        #expect(html.contains("<polyline"))
        #expect(html.contains("&lt;q&gt;"), "the predictions sample is in the page")
        #expect(html.contains("<td>exact_match</td><td>0.5</td>"))
        #expect(try p.flow("report", "no-such-run").status == 2)
    }
}
