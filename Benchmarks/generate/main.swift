// flow's side of the generation benchmark (docs/benchmarks-generate.md): loads the checkpoint that
// transformers_generate.py saved, checks flow's greedy tokens against transformers', and times time to first
// token and single-stream decode tokens/s. Built against the release FlowRuntime library by run.sh.
import Foundation
import FlowLLM

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: generate-benchmark MODEL_DIR [TOKENS] [REPEATS] [float32|bfloat16]")
    exit(2)
}
let directory = URL(fileURLWithPath: arguments[1])
let newTokens = arguments.count > 2 ? Int(arguments[2]) ?? 128 : 128
let repeats = arguments.count > 3 ? Int(arguments[3]) ?? 3 : 3

struct PromptFile: Decodable {
    var prompt_ids: [Int32]
    var greedy: [Int32]
}

let prompt = try JSONDecoder().decode(PromptFile.self, from: Data(contentsOf: directory.appendingPathComponent("prompt.json")))
let precision = arguments.count > 4 ? GenerationWeightPrecision(rawValue: arguments[4]) ?? .float32 : .float32
let model = try GenerationModel(model: directory, precision: precision)

/// Greedy generation of exactly `count` tokens through a session and the sampler (the loop `TextGenerator` runs,
/// without detokenizing: the random model has no tokenizer) and no EOS stop, as transformers runs with eos_token_id=None.
/// Returns the tokens, the time to first token and the decode tokens/s.
func run(_ count: Int) throws -> (ids: [Int32], ttft: Double, tokensPerSecond: Double) {
    let session = GenerationSession(model: model, capacity: prompt.prompt_ids.count + count)
    var sampler = TokenSampler(options: GenerationOptions(temperature: 0))
    let start = DispatchTime.now().uptimeNanoseconds
    try session.append(prompt.prompt_ids)
    var ids: [Int32] = [sampler.next(session.logits.data, count: model.config.vocabSize)]
    let first = DispatchTime.now().uptimeNanoseconds
    while ids.count < count {
        try session.append(token: ids[ids.count - 1])
        ids.append(sampler.next(session.logits.data, count: model.config.vocabSize))
    }
    let end = DispatchTime.now().uptimeNanoseconds
    return (ids, Double(first - start) / 1e9, Double(ids.count - 1) / (Double(end - first) / 1e9))
}

_ = try run(4)  // warm-up
var best = try run(1 + newTokens)
for _ in 1..<max(repeats, 1) {
    let g = try run(1 + newTokens)
    if g.tokensPerSecond > best.tokensPerSecond { best = g }
}
var ttft = Double.infinity
for _ in 0..<max(repeats, 1) { ttft = min(ttft, try run(1).ttft) }
let matching = zip(best.ids, prompt.greedy).prefix { $0 == $1 }.count
print("""
    {"precision": "\(precision.rawValue)", "threads": \(model.threads.count), "prompt_tokens": \(prompt.prompt_ids.count), "new_tokens": \(newTokens), \
    "ttft_ms": \(String(format: "%.2f", ttft * 1e3)), \
    "decode_tokens_per_s": \(String(format: "%.1f", best.tokensPerSecond)), \
    "bytes_read_per_token": \(model.bytesReadPerToken), \
    "greedy_tokens_matching_transformers": "\(matching)/\(min(best.ids.count, prompt.greedy.count))"}
    """)
