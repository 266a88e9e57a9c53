import Foundation
import Testing
import FlowLLM

/// Whole preprocessing of ../shared/data/sqlqa.jsonl (4,000 rows) with each shared config, with the byte-level
/// test tokenizer. Runs only with FLOW_DATA_BENCHMARK=1 (see Benchmarks/data/run.sh); prints examples/s.
@Test(.enabled(if: ProcessInfo.processInfo.environment["FLOW_DATA_BENCHMARK"] == "1"))
func preprocessingBenchmarkSQLQA() throws {
    let tok = DatasetTestTokenizer(addedTokens: ["[INST]", " [/INST]", "[SQL]", " [/SQL]"])
    let dir = try DataTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let clock = ContinuousClock()
    for (name, overrides) in [("mistral.yml", [String]()), ("mistral.yml", ["sample_packing=true"])] {
        let config = try AxolotlConfig.load(from: DataTests.sharedFile("axolotl-configs/\(name)"), overrides: overrides,
                                            dataPath: DataTests.sharedFile("sqlqa.jsonl").path)
        let pre = Preprocessor(config: config, tokenizer: tok)
        var prepareTimes: [Double] = [], runTimes: [Double] = []
        var rows = 0
        for _ in 0..<5 {
            let t0 = clock.now
            rows = try pre.prepare().stats.rowsRead
            let t1 = clock.now
            try pre.run(into: dir.appendingPathComponent("out"), dataDigests: [])
            let t2 = clock.now
            prepareTimes.append(seconds(t1 - t0)); runTimes.append(seconds(t2 - t1))
        }
        let readStart = clock.now
        _ = try JSONLDatasetReader.read(DataTests.sharedFile("sqlqa.jsonl"))
        let readTime = seconds(clock.now - readStart)
        let best = runTimes.min() ?? 0, median = runTimes.sorted()[runTimes.count / 2]
        print("""
            data-benchmark \(name) \(overrides.joined(separator: " ")): \(rows) rows; whole run (prepare + write) \
            best \(fmt(best)) s = \(Int(Double(rows) / best)) examples/s, median \(fmt(median)) s = \(Int(Double(rows) / median)) examples/s; \
            prepare only (no write) best \(fmt(prepareTimes.min() ?? 0)) s = \(Int(Double(rows) / (prepareTimes.min() ?? 1))) examples/s; JSONL parse alone \(fmt(readTime)) s
            """)
        #expect(rows == 4000)  // 3,999 newlines: the last line has none
    }
}

private func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

private func fmt(_ x: Double) -> String { String(format: "%.3f", x) }
