import Foundation
import Testing
import FlowLLM

/// The eval runner end to end on the tiny generation fixture: outputs, verdicts and numbers written and returned.
@Suite struct EvaluationTests {
    private let options = GenerationOptions(maxTokens: 6)

    private func readPredictions(_ dir: URL) throws -> [EvalPrediction] {
        try String(contentsOf: dir.appendingPathComponent("predictions.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONDecoder().decode(EvalPrediction.self, from: Data($0.utf8)) }
    }

    @Test func writesPredictionsAndMetricsThatAgreeWithIndependentScoring() throws {
        let generator = try GenerationFixtures.generator()
        let rows = try EvalTests.sqlqaRows()
        let picked = try (1...6).map { try #require(rows[$0]) }
        let questions = try picked.map { try $0.requiredText("question", for: "test") }
        let outputs = try questions.map { try generator.generate(prompt: $0, options: options).text }
        // Every other case expects exactly what the model says (padded: the match trims whitespace).
        let cases = try picked.indices.map { i in
            EvalCase(prompt: questions[i], expected: i % 2 == 0 ? "  \(outputs[i])\n" : try picked[i].requiredText("answer", for: "test"),
                     fields: picked[i].fields, source: "sqlqa:\(i + 1)")
        }
        let longQuestion = EvalCheck("long_question") { c, _ in .check(c.prompt.count > 60, "short question") }
        struct Refused: Error {}
        let throwing = EvalCheck("refuses_lists") { c, _ in
            if c.prompt.hasPrefix("List") { throw Refused() }
            return .pass
        }
        let dir = try DataTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("eval")
        let summary = try Evaluation(generator: generator, options: options, checks: [.sqlValid, longQuestion, throwing])
            .run(cases, into: out)

        let predictions = try readPredictions(out)
        #expect(predictions.map(\.output) == outputs)
        #expect(predictions.map(\.index) == Array(0..<6))
        #expect(predictions.map(\.expected) == cases.map(\.expected))
        #expect(predictions.allSatisfy { Set($0.checks.keys) == ["exact_match", "sql_valid", "long_question", "refuses_lists"] })
        func trimmed(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }
        let matches = zip(outputs, cases).filter { trimmed($0) == trimmed($1.expected) }.count
        let long = questions.filter { $0.count > 60 }.count
        let lists = questions.filter { $0.hasPrefix("List") }.count
        let sqlValid = zip(cases, outputs).filter { EvalCheck.sqlValid.verdict($0, output: $1).passed }.count
        #expect(matches >= 3 && long > 0 && long < 6 && lists > 0 && lists < 6)  // the fixture rows are a mixed subset
        #expect(summary.count == 6)
        #expect(summary.passed == ["exact_match": matches, "sql_valid": sqlValid, "long_question": long, "refuses_lists": 6 - lists])
        #expect(summary.exactMatch == Double(matches) / 6)
        #expect(summary.passRates["long_question"] == Double(long) / 6)
        #expect(summary.generatedTokens == predictions.reduce(0) { $0 + $1.completionTokens })
        #expect(summary.finishReasons.values.reduce(0, +) == 6)
        #expect(summary.tokensPerSecond > 0 && summary.generationSeconds > 0)
        #expect(summary.metrics["exact_match"] == summary.exactMatch && summary.metrics["count"] == 6)
        for p in predictions {
            #expect(p.checks["exact_match"]?.passed == (trimmed(p.output) == trimmed(p.expected)))
            #expect(p.checks["exact_match"]?.reason == (p.checks["exact_match"]?.passed == true ? nil : "differs from the expected answer"))
            #expect(p.checks["refuses_lists"]?.passed == !p.prompt.hasPrefix("List"))
            if p.prompt.hasPrefix("List") { #expect(p.checks["refuses_lists"]?.reason?.hasPrefix("the check threw: ") == true) }
        }
        let metrics = try JSONDecoder().decode(EvalSummary.self, from: Data(contentsOf: out.appendingPathComponent("metrics.json")))
        #expect(metrics == summary)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [String: Any])
        #expect(json["exact_match"] as? Double == summary.exactMatch && json["count"] as? Int == 6)
        #expect((json["pass_rates"] as? [String: Double])?["sql_valid"] == Double(sqlValid) / 6)
    }

    @Test func loadsABaseModelWithAnAdapterAppliedOnTheFly() throws {
        let dir = try GenerationFixtures.directory
        let expected = try GenerationFixtures.expected()
        let evaluation = try Evaluation(model: dir.appendingPathComponent("model"), adapter: dir.appendingPathComponent("adapter"),
                                        tokenizer: try GenerationFixtures.tokenizerDirectory,
                                        options: GenerationOptions(maxTokens: expected.adapter_greedy.count))
        let reference = try GenerationFixtures.generator(adapter: true)
        let text = reference.tokenizer.decode(expected.adapter_greedy, skipSpecialTokens: true)
        let out = try DataTests.temporaryDirectory().appendingPathComponent("eval")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let summary = try evaluation.run([EvalCase(prompt: expected.prompt, expected: text, promptIDs: expected.prompt_ids)], into: out)
        #expect(summary.exactMatch == 1)  // transformers' greedy tokens of the merged model
        #expect(try readPredictions(out).first?.output == text)
    }

    @Test func decodesByBeamSearchAndRecordsTheBeams() throws {
        // transformers' 4-beam output (scripts/fixtures/beam.py) is the expected answer of the first case
        let reference = try GenerationBeamSearchTests.reference()
        let c = reference.cases[1]
        let generator = try GenerationFixtures.generator()
        let beamText = generator.tokenizer.decode(c.tokens, skipSpecialTokens: true)
        let greedyText = generator.tokenizer.decode(Array(try GenerationFixtures.expected().base_greedy.prefix(c.max_new_tokens)),
                                                    skipSpecialTokens: true)
        try #require(beamText != greedyText)
        let cases = [EvalCase(prompt: "", expected: beamText, promptIDs: reference.prompt_ids, source: "beam"),
                     EvalCase(prompt: "", expected: greedyText, promptIDs: reference.prompt_ids, source: "greedy")]
        let dir = try DataTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var options = GenerationOptions(maxTokens: c.max_new_tokens, numBeams: c.num_beams)
        let beam = try Evaluation(generator: generator, options: options).run(cases, into: dir.appendingPathComponent("beam"))
        #expect(try readPredictions(dir.appendingPathComponent("beam")).map { $0.checks["exact_match"]?.passed } == [true, false])
        #expect(beam.numBeams == 4)
        options.numBeams = 1
        let greedy = try Evaluation(generator: generator, options: options).run(cases, into: dir.appendingPathComponent("greedy"))
        #expect(try readPredictions(dir.appendingPathComponent("greedy")).map { $0.checks["exact_match"]?.passed } == [false, true])
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: dir.appendingPathComponent("greedy/metrics.json"))) as? [String: Any])
        #expect(json["num_beams"] as? Int == 1 && greedy.numBeams == 1)
    }

    @Test func aFailedRunLeavesThePreviousOutputsWhole() throws {
        let generator = try GenerationFixtures.generator()
        let dir = try DataTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("eval")
        let good = [EvalCase(prompt: "How many heads?", expected: "x", source: "good")]
        let evaluation = try Evaluation(generator: generator, options: options)
        try evaluation.run(good, into: out)
        let before = try Data(contentsOf: out.appendingPathComponent("predictions.jsonl"))
        let bad = good + [EvalCase(prompt: "?", expected: "", promptIDs: [1, 99_999], source: "bad")]
        let error = try #require(throws: EvalError.self) { try evaluation.run(bad, into: out) }
        #expect(error.message.hasPrefix("case 1 (bad): generation failed: "), "\(error)")
        #expect(try Data(contentsOf: out.appendingPathComponent("predictions.jsonl")) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["eval"])  // no staging left behind
    }

    @Test func checkNamesMustBeDistinctMetricNames() throws {
        let generator = try GenerationFixtures.generator()
        let pass = { (name: String) in EvalCheck(name) { _, _ in .pass } }
        #expect(throws: EvalError("two checks are named `a`; give each check its own name")) {
            try Evaluation(generator: generator, checks: [pass("a"), pass("a")])
        }
        #expect(throws: EvalError("check name `count` is taken by a metric of metrics.json; rename the check")) {
            try Evaluation(generator: generator, checks: [pass("count")])
        }
        #expect(throws: EvalError.self) { try Evaluation(generator: generator, checks: [pass("has space")]) }
        #expect(try Evaluation(generator: generator, checks: [.exactMatch, .sqlValid]).checks.map(\.name) == ["exact_match", "sql_valid"])
        #expect(throws: EvalError.self) { try Evaluation(generator: generator).run([], into: URL(fileURLWithPath: "/nonexistent/eval")) }
        #expect(try EvalCheck.builtIn("sql-valid").name == "sql_valid")
    }
}
