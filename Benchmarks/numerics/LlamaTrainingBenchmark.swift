// Training throughput of FlowLLM's Llama (forward + backward + AdamW) and OpenBLAS sgemm peak on this machine.
// Built and run by Benchmarks/numerics/run.sh against the release libFlowRuntime; see docs/benchmarks-numerics.md.
import COpenBLAS
import Foundation
import FlowLLM

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Best sgemm GFLOP/s over a few repetitions of an m×n×k product.
func sgemmPeak(m: Int, n: Int, k: Int, repeats: Int) -> Double {
    let a = Tensor(zeros: [m, k]), b = Tensor(zeros: [k, n]), c = Tensor(zeros: [m, n])
    var random = TensorRandom(seed: 1)
    random.fillUniform(a, low: -1, high: 1)
    random.fillUniform(b, low: -1, high: 1)
    var best = Double.infinity
    for _ in 0..<repeats {
        best = min(best, seconds { GEMM.sgemm(m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: n, c: c.data, ldc: n) })
    }
    return 2 * Double(m * n * k) / best / 1e9
}

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1]) else { return fallback }
    return v
}
let full = arguments.contains("--full")
// --split-ops: every operation split over the threads (forward, backward), instead of whole rows per thread
// (forwardBackward, what the trainer runs)
let splitOps = arguments.contains("--split-ops")
// `--model 100m`: the brief's ~100M config (batch 1 × 256 by default); otherwise the tiny one (batch 4 × 256).
let large = arguments.firstIndex(of: "--model").map { $0 + 1 < arguments.count && arguments[$0 + 1] == "100m" } ?? false
let steps = option("--steps", 10), rows = option("--rows", large ? 1 : 4), length = option("--length", 256)
let rank = option("--rank", 16)

let config = large
    ? LlamaConfig(vocabSize: 32000, hiddenSize: 768, intermediateSize: 2048, numHiddenLayers: 12, numAttentionHeads: 12,
                  numKeyValueHeads: 4, maxPositionEmbeddings: 2048)
    : LlamaConfig(vocabSize: 2048, hiddenSize: 128, intermediateSize: 352, numHiddenLayers: 4, numAttentionHeads: 4,
                  numKeyValueHeads: 2, maxPositionEmbeddings: 2048)
let weights = LlamaWeights.random(config, seed: 0)
let adapter = full ? nil : LoRAAdapter.initialized(LoRAConfig(rank: rank, alpha: Double(2 * rank)), base: weights, seed: 1)
let model = LlamaModel(weights: weights, adapter: adapter, trainsBaseWeights: full)
let optimizer = AdamW(parameters: model.trainableParameters, weightDecay: 0.0)
var random = TensorRandom(seed: 2)
let tokens = (0..<(rows * length)).map { _ in Int32(random.next() % UInt64(config.vocabSize)) }
let batch = try LlamaBatch(rows: rows, length: length, tokens: tokens, labels: tokens)

// Matmul FLOPs per step as sgemm executes them.
let n = Double(rows * length), d = Double(config.hiddenSize), i = Double(config.intermediateSize)
let qw = Double(config.queryWidth), kvw = Double(config.keyValueWidth), v = Double(config.vocabSize)
let layers = Double(config.numHiddenLayers), l = Double(length), hd = Double(config.headDim), heads = Double(config.numAttentionHeads)
let linearMACs = n * (d * qw + 2 * d * kvw + qw * d + 3 * d * i) * layers + n * d * v
// Causal attention runs in 64-row blocks, each over the key columns up to its end (LlamaOps.attentionBlockRows).
let blockedColumns = stride(from: 0, to: length, by: 64).reduce(0) { $0 + (min($1 + 64, length) - $1) * min($1 + 64, length) }
let attentionMACs = 2 * Double(rows * blockedColumns) * hd * heads * layers
let loraMACs = full ? 0 : n * Double(rank) * ((d + qw) + 2 * (d + kvw) + (qw + d) + 2 * (d + i) + (i + d)) * layers
// Forward: 1×; backward: dX for every linear (1×), dW too when fine-tuning fully (1×), attention 2×, LoRA 3×.
let flopsPerStep = 2 * (linearMACs * (full ? 3 : 2) + attentionMACs * 3 + loraMACs * 4)

var times: [Double] = []
var loss = 0.0
for step in 0..<(steps + 2) {
    let t = try seconds {
        model.zeroGradients()
        if splitOps {
            loss = try model.forward(batch, training: true).mean
            try model.backward()
        } else {
            loss = try model.forwardBackward(batch).mean
        }
        optimizer.update(learningRate: 1e-4)
    }
    if step >= 2 { times.append(t) }  // two warm-up steps
}
times.sort()
let median = times[times.count / 2], best = times[0]
// Best of many short runs: on a shared machine the best one is the least disturbed.
let peak = max(sgemmPeak(m: 512, n: 512, k: 512, repeats: 40), sgemmPeak(m: 1024, n: 1024, k: 1024, repeats: 20))
let modelShaped = sgemmPeak(m: rows * length, n: config.intermediateSize, k: config.hiddenSize, repeats: 40)
let core = String(cString: openblas_get_corename()), threads = model.threads.count
print(String(format: "flow %@ %@ (OpenBLAS %@ kernels, %d threads%@): %d×%d tokens, best step %.1f ms (%.0f tokens/s), median step %.1f ms, %.0f tokens/s, %.2f GFLOP/s achieved at the median (%.1f%% of sgemm peak %.1f GFLOP/s; a %d×%d×%d sgemm alone: %.1f GFLOP/s), loss %.4f",
             large ? "~100M" : "tiny", full ? "full fine-tuning" : "LoRA r=\(rank)", core, threads, splitOps ? ", split by operation" : (threads > 1 && rows > 1 ? ", rows split over threads" : ""), rows, length, best * 1000, n / best, median * 1000, n / median, flopsPerStep / median / 1e9,
             100 * flopsPerStep / median / 1e9 / peak, peak, rows * length, config.intermediateSize, config.hiddenSize,
             modelShaped, loss))
