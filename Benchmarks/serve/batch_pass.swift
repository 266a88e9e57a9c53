// The cost of one decoding pass of the model over 1, 2, 4, 8 and 16 requests (docs/benchmarks-serve.md): each
// request has a 32-token prompt in its cache and appends one token a pass; best of 10 passes. Also one 32-token prefill.
// Shows what batching buys below the scheduler and HTTP. Built against the release FlowRuntime library by run.sh.
import FlowLLM
import Foundation

guard CommandLine.arguments.count >= 2 else {
    print("usage: batch-pass-benchmark MODEL_DIR [float32|bfloat16]")
    exit(2)
}
let precision = CommandLine.arguments.count > 2 ? GenerationWeightPrecision(rawValue: CommandLine.arguments[2]) ?? .float32 : .float32
let model = try GenerationModel(model: URL(fileURLWithPath: CommandLine.arguments[1]), precision: precision)

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

var passes: [String] = []
for rows in [1, 2, 4, 8, 16] {
    let sessions = (0..<rows).map { _ in GenerationSession(model: model, capacity: 64) }
    let batch = GenerationBatch(model: model)
    try batch.append(sessions.map { GenerationSegment(session: $0, tokens: Array(repeating: 5, count: 32)[...]) })
    var best = Double.infinity
    for _ in 0..<10 {
        best = min(best, try seconds { try batch.append(sessions.map { GenerationSegment(session: $0, tokens: [7]) }) })
    }
    passes.append("\"\(rows)\": {\"pass_ms\": \(String(format: "%.2f", best * 1e3)), \"tokens_per_s\": \(String(format: "%.0f", Double(rows) / best))}")
}
var prefill = Double.infinity
for _ in 0..<5 {
    let session = GenerationSession(model: model, capacity: 64)
    prefill = min(prefill, try seconds { try session.append(Array(repeating: 9, count: 32)) })
}
print("{\"precision\": \"\(precision.rawValue)\", \"threads\": \(model.threads.count), \"rows\": {\(passes.joined(separator: ", "))}, \"prefill_32_ms\": \(String(format: "%.2f", prefill * 1e3))}")
