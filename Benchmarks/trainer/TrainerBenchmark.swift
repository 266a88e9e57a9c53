// Tokens/s of the whole Trainer (data batching, forward, backward, clipping, AdamW, logging) on the brief's tiny
// config, beside the bare model step (forward + backward + AdamW on one fixed batch) measured in the same process.
// Built and run by Benchmarks/trainer/run.sh against the release libFlowRuntime; see docs/benchmarks-trainer.md.
import Foundation
import FlowLLM

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1]) else { return fallback }
    return v
}
let full = arguments.contains("--full")
let modulesToSave: [LoRASavedModule] = arguments.contains("--modules-to-save") ? [.embedTokens, .lmHead] : []
let steps = option("--steps", 12), rows = option("--rows", 4), length = option("--length", 256), rank = option("--rank", 16)

let config = LlamaConfig(vocabSize: 2048, hiddenSize: 128, intermediateSize: 352, numHiddenLayers: 4, numAttentionHeads: 4,
                         numKeyValueHeads: 2, maxPositionEmbeddings: 2048)
let lora = full ? nil : LoRAConfig(rank: rank, alpha: Double(2 * rank), modulesToSave: modulesToSave)
let threads = ComputeThreads.fromEnvironment

// A prepared dataset of rows × steps sequences of `length` random tokens, every token trained.
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-trainer-benchmark-\(UUID().uuidString)")
defer { try? FileManager.default.removeItem(at: directory) }
var random = TensorRandom(seed: 2)
let examples = (0..<(rows * steps)).map { _ -> TokenizedExample in
    let tokens = (0..<length).map { _ in Int32(random.next() % UInt64(config.vocabSize)) }
    return TokenizedExample(inputIDs: tokens, labels: tokens)
}
let split = PreparedSplit(examples: examples, packing: false, sequenceLen: length)
let manifestJSON: [String: Any] = [
    "format": "flow.prepared-dataset", "formatVersion": PreparedDatasetManifest.currentFormatVersion, "sequenceLen": length,
    "samplePacking": false, "padToSequenceLen": false, "padTokenID": 0, "tokenizerDigest": "benchmark", "dataDigests": [],
    "configFingerprint": "benchmark", "configFields": [:], "cacheKey": "benchmark", "files": [:],
    "splits": ["train": ["examples": examples.count, "rows": examples.count, "tokens": split.tokens.count,
                         "trainedTokens": split.trainedTokenCount, "packed": false]],
]
let manifest = try JSONDecoder().decode(PreparedDatasetManifest.self, from: JSONSerialization.data(withJSONObject: manifestJSON))
try PreparedDatasetWriter.write(to: directory, manifest: manifest, splits: ["train": split], stats: PreprocessingStats(), preview: [])
let dataset = try PreparedDataset(directory: directory)

var options = TrainingOptions()
options.lora = lora
options.microBatchSize = rows
options.maxSteps = steps
options.learningRate = 1e-3
options.loggingSteps = 1
options.threads = threads
let trainer = try Trainer(weights: LlamaWeights.random(config, seed: 0), dataset: dataset, options: options)
var stepRates: [Double] = []
trainer.onProgress = { _, metrics in if let r = metrics["tokens_per_second"] { stepRates.append(r) } }
let summary = try trainer.train()
let warm = Array(stepRates.dropFirst(2)).sorted()

// The bare step on one fixed batch, same model shape.
let benchWeights = LlamaWeights.random(config, seed: 0)
let model = LlamaModel(weights: benchWeights,
                       adapter: lora.map { LoRAAdapter.initialized($0, base: benchWeights, seed: 1) }, trainsBaseWeights: full,
                       threads: threads)
let optimizer = AdamW(parameters: model.trainableParameters)
let batch = try LlamaBatch(rows: rows, length: length, tokens: examples.prefix(rows).flatMap(\.inputIDs),
                           labels: examples.prefix(rows).flatMap(\.labels))
var bare: [Double] = []
for s in 0..<(steps) {
    let start = DispatchTime.now().uptimeNanoseconds
    model.zeroGradients()
    try model.forward(batch, training: true)
    try model.backward()
    optimizer.update(learningRate: 1e-3)
    if s >= 2 { bare.append(Double(rows * length) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)) }
}
bare.sort()
let name = full ? "full fine-tuning" : "LoRA r=\(rank)" + (modulesToSave.isEmpty ? "" : " + modules_to_save embed_tokens, lm_head")
print(String(format: "%@, %d threads, batch %d × %d, %d steps: Trainer whole run %.0f tokens/s (%.2f s); Trainer per step best %.0f / median %.0f tokens/s; bare step best %.0f / median %.0f tokens/s",
             name, threads.count, rows, length, steps, summary.tokensPerSecond, summary.seconds, warm.last ?? 0,
             warm.isEmpty ? 0 : warm[warm.count / 2], bare.last ?? 0, bare.isEmpty ? 0 : bare[bare.count / 2]))
