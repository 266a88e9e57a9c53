@testable import FlowEngine
import Foundation
import Testing

@Suite("how runs are drawn: live graph, metrics, charts, report") struct RunPresentationTests {
    func event(_ kind: RunEvent.Kind, _ step: String? = nil, at time: Double, _ edit: (inout RunEvent) -> Void = { _ in })
        -> RunEvent
    {
        var e = RunEvent(kind, tag: "t-1", time: time, step: step)
        edit(&e)
        return e
    }

    @Test func theLiveGraphShowsEachStatesProgressAndAnETAFromTheRate() {
        let g = LiveGraph()
        g.apply(event(.runStarted, at: 100) { $0.steps = ["prep", "train", "eval", "serve"] })
        g.apply(event(.stepFinished, "prep", at: 100) { $0.status = "cached"; $0.cachedFrom = "t-0" })
        g.apply(event(.stepStarted, "train", at: 100))
        // 10 of 100 steps at t=110, 30 at t=130: one step a second since the first report, 70 left → ETA 70 s.
        g.apply(event(.stepProgress, "train", at: 110) { $0.completed = 10; $0.total = 100; $0.unit = "steps"; $0.metrics = ["loss": 2.5] })
        g.apply(event(.stepProgress, "train", at: 130) { $0.completed = 30; $0.total = 100; $0.unit = "steps"; $0.metrics = ["loss": 1.25, "lr": 1e-4] })
        let lines = g.render(now: 131, width: 200)
        #expect(lines[0].hasPrefix("t-1  1/4 steps  31.0s"), "\(lines)")
        #expect(lines[1].contains("○ prep") && lines[1].contains("cached (from t-0)"))
        let train = lines[2]
        #expect(train.contains("● train"))
        #expect(train.contains("[██████░░░░░░░░░░░░░░]  30%  30/100 steps"), "\(train)")
        #expect(train.contains("ETA 1m10s"), "\(train)")
        #expect(train.contains("loss 1.25") && train.contains("lr 0.0001"), "\(train)")
        #expect(lines[3].contains("· eval") && lines[3].contains("waiting"))

        g.apply(event(.stepFinished, "train", at: 200) { $0.status = "succeeded"; $0.seconds = 100 })
        g.apply(event(.stepStarted, "eval", at: 200))
        g.apply(event(.stepFinished, "eval", at: 201) { $0.status = "failed"; $0.error = "exit status 3: no such column" })
        g.apply(event(.runFinished, at: 201) { $0.status = "failed" })
        let end = g.render(now: 500, width: 60)
        #expect(end[0] == "t-1  2/4 steps  1m41s  failed", "\(end)")
        #expect(end[2].contains("✓ train") && end[2].contains("done in 1m40s"))
        #expect(end[3].contains("✗ eval") && end[3].contains("failed: exit status 3"))
        #expect(end.allSatisfy { $0.count <= 60 }, "lines are clipped to the width: \(end)")
    }

    @Test func theLiveGraphSaysWhatAWaitingStepWaitsForAndWhereARunningOneRuns() {
        let g = LiveGraph()
        g.apply(event(.runStarted, at: 100) { $0.steps = ["q1", "q2"] })
        g.apply(event(.stepStarted, "q1", at: 100) { $0.host = "a10" })
        g.apply(event(.stepWaiting, "q2", at: 100) { $0.detail = "waiting for a GPU (A10G:1) on a10" })
        let lines = g.render(now: 101, width: 200)
        #expect(lines[1].contains("● q1") && lines[1].contains("on a10  running"), "\(lines)")
        #expect(lines[2].contains("· q2  waiting for a GPU (A10G:1) on a10"), "\(lines)")
        g.apply(event(.stepFinished, "q1", at: 102) { $0.status = "succeeded"; $0.seconds = 2 })
        g.apply(event(.stepStarted, "q2", at: 102) { $0.host = "local" })
        let after = g.render(now: 103, width: 200)
        #expect(after[2].contains("● q2  running"), "a step here says no host: \(after)")
    }

    @Test func metricsSplitIntoFinalScoresAndLossCurves() {
        var records: [MetricRecord] = []
        func add(_ step: String, _ series: String, _ name: String, _ x: Int?, _ v: Double) {
            records.append(MetricRecord(runTag: "t", step: step, series: series, name: name, x: x, value: v, at: Double(records.count)))
        }
        for i in 1...5 { add("train", "train", "loss", i, 3.0 / Double(i)); add("train", "train", "learning_rate", i, 1e-4) }
        add("train", "eval", "eval_loss", 2, 2.0)
        add("train", "eval", "eval_loss", 4, 1.0)
        add("eval", "eval", "exact_match", nil, 0.5)
        add("eval", "eval", "exact_match", nil, 0.96875)
        add("eval", "eval", "sql_valid", nil, 0.8125)
        let m = RunMetrics(records)
        #expect(m.scores == [.init(step: "eval", name: "exact_match", value: 0.96875), .init(step: "eval", name: "sql_valid", value: 0.8125)])
        #expect(m.scoreLines() == ["eval: exact_match 0.9688, sql_valid 0.8125"])
        #expect(m.finalLoss == ["train": 0.6])
        #expect(m.lossCurves.map(\.name) == ["loss", "eval_loss"])
        #expect(m.lossCurves[0].points.map(\.y) == (1...5).map { 3.0 / Double($0) })

        let chart = TerminalChart.draw(m.lossCurves, width: 40, height: 8).split(separator: "\n").map(String.init)
        #expect(chart.count == 8 + 3)
        #expect(chart[0].hasPrefix("  3 │•"), "the first train point is the top left: \(chart)")
        #expect(chart[7].hasPrefix("0.6 │") && chart[7].hasSuffix("•"), "the last is the bottom right: \(chart)")
        #expect(chart[0..<8].joined().filter { $0 == "•" }.count == 5)
        #expect(chart[0..<8].joined().filter { $0 == "◆" }.count == 2)
        #expect(chart[10].contains("• train loss 3 → 0.6") && chart[10].contains("◆ train eval_loss 2 → 1"))
    }

    @Test func theHTMLReportIsSelfContainedAndEscapesWhatItShows() throws {
        let run = RunRecord(tag: "finetune-1", workflow: "finetune", workflowFile: "/p/Workflows/F.swift", status: .succeeded,
                            targets: "[\"eval\"]", params: #"{"config":"c.yml"}"#, createdAt: 1_000, finishedAt: 1_090,
                            supervisorPid: nil, supervisorStart: nil, error: nil, host: "box", provenance: nil)
        var records: [MetricRecord] = []
        for i in 1...4 { records.append(MetricRecord(runTag: "t", step: "train", series: "train", name: "loss", x: i, value: 4 - Double(i), at: 0)) }
        records.append(MetricRecord(runTag: "t", step: "eval", series: "eval", name: "sql_valid", x: nil, value: 0.75, at: 0))
        var report = HTMLReport(run: run, steps: [], metrics: records)
        report.configFiles = [("c.yml", "format: \"<b>{input}</b>\"")]
        report.predictions = [("runs/finetune-1/eval/results/predictions.jsonl",
                               [["prompt": "<script>alert(1)</script>", "expected": "SELECT 1", "output": "SELECT 1",
                                 "checks": ["sql-valid": ["pass": true]]]])]
        let html = report.html()
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(!html.contains("<script"), "prediction text is escaped")
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("format: &quot;&lt;b&gt;{input}&lt;/b&gt;&quot;"))
        #expect(html.contains("<svg") && html.contains("<polyline"))
        #expect(html.contains("<td>sql_valid</td><td>0.75</td>"))
        #expect(html.contains("flow volume get runs/finetune-1/eval/results"))
        #expect(!html.contains("http://") || html.components(separatedBy: "http://").count == 2, "only the SVG namespace")
        #expect(!html.contains("src=") && !html.contains("href="), "nothing is loaded from elsewhere")
    }
}
