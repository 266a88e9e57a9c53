// The in-process side of the serving benchmark (docs/benchmarks-serve.md): STREAMS concurrent requests through
// FlowLLM's GenerationScheduler (what `flow llm serve` runs, without HTTP), greedy, exactly 1+N tokens each.
// Per stream: time to first token (submission → first token event) and decode tokens/s (the N tokens after the
// first); total decode tokens/s = all streams' N tokens / (last stream's end − earliest first token). Best of
// REPEATS rounds. Built against the release FlowRuntime library by run.sh.
import FlowLLM
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: serve-benchmark MODEL_DIR [TOKENS] [REPEATS] [float32|bfloat16]")
    exit(2)
}
let directory = URL(fileURLWithPath: arguments[1])
let newTokens = arguments.count > 2 ? Int(arguments[2]) ?? 128 : 128
let repeats = arguments.count > 3 ? Int(arguments[3]) ?? 3 : 3
let precision = arguments.count > 4 ? GenerationWeightPrecision(rawValue: arguments[4]) ?? .float32 : .float32

struct PromptFile: Decodable { var prompt_ids: [Int32] }
let prompt = try JSONDecoder().decode(PromptFile.self, from: Data(contentsOf: directory.appendingPathComponent("prompt.json")))
let generator = try TextGenerator(model: directory, precision: precision)
let scheduler = GenerationScheduler(generator: generator)

struct Round {
    var ttftMean: Double, ttftMax: Double, perStream: Double, total: Double
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func round(streams: Int) async throws -> Round {
    let times = try await withThrowingTaskGroup(of: (start: Double, first: Double, end: Double, tokens: Int).self) { group in
        for _ in 0..<streams {
            let start = now()
            let events = try scheduler.submit(promptIDs: prompt.prompt_ids, options: GenerationOptions(maxTokens: 1 + newTokens)).events
            group.addTask {
                var first = 0.0, end = 0.0, tokens = 0
                for await event in events {
                    guard case .token = event else { continue }
                    end = now()
                    if tokens == 0 { first = end }
                    tokens += 1
                }
                return (start, first, end, tokens)
            }
        }
        var all: [(start: Double, first: Double, end: Double, tokens: Int)] = []
        for try await t in group { all.append(t) }
        return all
    }
    precondition(times.allSatisfy { $0.tokens == 1 + newTokens }, "a stream ended early")
    let ttfts = times.map { $0.first - $0.start }
    return Round(ttftMean: ttfts.reduce(0, +) / Double(streams), ttftMax: ttfts.max()!,
                 perStream: times.map { Double(newTokens) / ($0.end - $0.first) }.reduce(0, +) / Double(streams),
                 total: Double(streams * newTokens) / (times.map(\.end).max()! - times.map(\.first).min()!))
}

for streams in [1, 8] {
    _ = try await round(streams: streams)  // warm-up
    var best = try await round(streams: streams)
    for _ in 1..<max(repeats, 1) {
        let r = try await round(streams: streams)
        if r.total > best.total { best = r }
    }
    print("""
        {"precision": "\(precision.rawValue)", "threads": \(generator.model.threads.count), "streams": \(streams), \
        "prompt_tokens": \(prompt.prompt_ids.count), "new_tokens": \(newTokens), \
        "ttft_ms_mean": \(String(format: "%.2f", best.ttftMean * 1e3)), "ttft_ms_max": \(String(format: "%.2f", best.ttftMax * 1e3)), \
        "per_stream_decode_tokens_per_s_mean": \(String(format: "%.1f", best.perStream)), \
        "total_decode_tokens_per_s": \(String(format: "%.1f", best.total)), \
        "bytes_read_per_token": \(generator.model.bytesReadPerToken)}
        """)
}
scheduler.shutdown()
