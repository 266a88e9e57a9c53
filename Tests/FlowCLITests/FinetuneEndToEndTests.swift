import FlowEngine
import FlowTesting
import Foundation
import Testing

/// The default workflow (`Workflows/Finetune.swift`) end to end with its quick configs, from nothing to a merged
/// model with eval metrics, then everything a user does next: look at the run, its report, the prepared data,
/// a fully cached re-run, and a merge-only re-run.
@Suite("the default workflow end to end") struct FinetuneEndToEndTests {
    let quick = ["--pretrain", "Workflows/configs/quick-pretrain.yml", "--config", "Workflows/configs/quick.yml",
                 "--eval-sample", "4"]

    func metric(_ records: [MetricRecord], step: String, name: String) -> [MetricRecord] {
        records.filter { $0.step == step && $0.name == name }
    }

    @Test func fromNothingToAMergedModelWithEvalMetrics() throws {
        let p = try TemporaryProject("finetune")
        for path in ["Workflows/Finetune.swift", "Workflows/configs", "Workflows/data"] { try p.copyFromRepository(path) }

        let first = try p.flow(arguments: ["run"] + quick)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let tag = try p.lastTag()
        let db = try p.database()
        let steps = Dictionary(uniqueKeysWithValues: try db.steps(of: tag).map { ($0.name, $0.status) })
        for name in ["tokenizer", "pretrain-data", "pretrain", "preprocess", "train", "merge", "eval", "eval-base"] {
            #expect(steps[name] == .succeeded, "\(name): \(String(describing: steps[name]))")
        }
        #expect(steps["serve"] == nil, "serve is not in the default target")

        // The training loss falls, for the pretraining and the fine-tuning: the mean of the last quarter of the
        // logged losses is below the mean of the first quarter (single steps are noisy at the quick batch size).
        let metrics = try db.metrics(of: tag)
        for step in ["pretrain", "train"] {
            let loss = metric(metrics, step: step, name: "loss").sorted { ($0.x ?? 0) < ($1.x ?? 0) }.map(\.value)
            #expect(loss.count >= 4, "\(step) recorded its loss: \(loss)")
            let quarter = max(1, loss.count / 4)
            let early = loss.prefix(quarter).reduce(0, +) / Double(quarter)
            let late = loss.suffix(quarter).reduce(0, +) / Double(quarter)
            #expect(late < early, "\(step): loss \(loss)")
        }
        // The eval steps' scores are run metrics and the closing summary shows them.
        for step in ["eval", "eval-base"] {
            let names = Set(metrics.filter { $0.step == step }.map(\.name))
            #expect(names.contains { $0.contains("exact_match") } && names.contains { $0.contains("sql_valid") },
                    "\(step): \(names.sorted())")
        }
        #expect(first.stdout.contains("run succeeded \(tag)"), "\(first.stdout)")
        #expect(first.stdout.contains("eval: ") && first.stdout.contains("sql_valid"), "\(first.stdout)")
        #expect(first.stdout.contains("flow run serve"), "the summary offers serve: \(first.stdout)")

        // The merged model is a Hugging Face folder; the predictions are downloadable.
        let config = try p.flow("volume", "get", "runs/\(tag)/merge/model/config.json", "-")
        #expect(config.status == 0 && config.stdout.contains("hidden_size"), "\(config.stderr)")
        let evalOutputs = try db.outputs(of: tag).filter { $0.step == "eval" }.map(\.name)
        #expect(!evalOutputs.isEmpty)
        let predictions = evalOutputs.compactMap { name -> String? in
            let get = try? p.flow("volume", "get", "runs/\(tag)/eval/\(name)/predictions.jsonl", "-")
            return get?.status == 0 ? get?.stdout : nil
        }
        #expect(predictions.contains { $0.contains("\"expected\"") && $0.contains("\"output\"") }, "\(evalOutputs)")
        // the eval steps decode by beam search (the workflow's --eval-beams, 4 by default) and say so
        let metricsFile = try p.flow("volume", "get", "runs/\(tag)/eval/heldout/metrics.json", "-")
        #expect(metricsFile.stdout.contains("\"num_beams\" : 4"), "\(metricsFile.stdout)")

        // runs show draws the loss curve; report writes one page.
        let show = try p.flow("runs", "show", tag).stdout
        #expect(show.contains("loss:") && show.contains("• train loss"), "\(show)")
        let report = try p.flow("report", tag)
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOf: p.project.storeDirectory.appendingPathComponent("reports/\(tag).html"), encoding: .utf8)
        #expect(html.contains("<polyline") && html.contains("Predictions") && html.contains("quick.yml"))

        // The prepared data comes out for inspection.
        let prepared = try p.flow("volume", "get", "last_run_prepared", "prepared")
        #expect(prepared.status == 0, "\(prepared.stderr)")
        #expect(FileManager.default.fileExists(atPath: p.root.appendingPathComponent("prepared/tokenizer").path))

        // A second run is fully cached and still reports the scores.
        let second = try p.flow(arguments: ["run"] + quick)
        #expect(second.status == 0)
        #expect(second.stdout.contains("0 ran, \(steps.count) cached"), "\(second.stdout)")
        #expect(second.stdout.contains("sql_valid"), "\(second.stdout)")

        // A merge-only re-run: merge runs again, nothing is retrained.
        let merge = try p.flow(arguments: ["run", "merge", "--force", "merge"] + quick)
        #expect(merge.status == 0, "\(merge.stdout)\(merge.stderr)")
        let mergeSteps = Dictionary(uniqueKeysWithValues: try db.steps(of: try p.lastTag()).map { ($0.name, $0.status) })
        #expect(mergeSteps["merge"] == .succeeded)
        #expect(mergeSteps["train"] == .cached && mergeSteps["pretrain"] == .cached, "\(mergeSteps)")
    }
}
