import Foundation
import Testing
@testable import FlowLLM

/// Helpers of the trainer's tests: a tiny model and a synthetic prepared dataset written to disk.
enum TrainerTests {
    /// vocab 32, hidden 16, intermediate 24, 2 layers, 2 query heads sharing 1 KV head.
    static let modelConfig = LlamaConfig(vocabSize: 32, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2,
                                         numAttentionHeads: 2, numKeyValueHeads: 1)

    /// A fixture file of the trainer area.
    static func fixture(_ name: String) throws -> URL {
        let base = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
        return try #require(Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "Fixtures/trainer"))
    }

    /// Writes a prepared dataset of `rows` training and `evalRows` eval examples of random tokens (lengths 5–12,
    /// the first two labels masked) to `directory/data` and opens it.
    static func dataset(in directory: URL, rows: Int = 8, evalRows: Int = 2, packing: Bool = false, seed: UInt64 = 7)
        throws -> PreparedDataset
    {
        var random = TensorRandom(seed: seed)
        func examples(_ count: Int) -> [TokenizedExample] {
            (0..<count).map { i in
                let length = 5 + Int(random.next() % 8)
                let tokens = (0..<length).map { _ in Int32(3 + random.next() % 29) }
                return TokenizedExample(inputIDs: tokens, labels: [-100, -100] + tokens.dropFirst(2), sourceLine: i + 1)
            }
        }
        return try dataset(in: directory, train: examples(rows), eval: examples(evalRows), packing: packing,
                           cacheKey: "trainer-test seed \(seed) rows \(rows)")
    }

    /// Writes `train` and `eval` (one example a row, or packed into rows of 24) to `directory/data` and opens it.
    static func dataset(in directory: URL, train examples: [TokenizedExample], eval evalExamples: [TokenizedExample],
                        packing: Bool = false, cacheKey: String) throws -> PreparedDataset {
        let train = PreparedSplit(examples: examples, packing: packing, sequenceLen: 24)
        let eval = PreparedSplit(examples: evalExamples, packing: false, sequenceLen: 24)
        var splits = ["train": train]
        var summaries = ["train": ["examples": examples.count, "rows": train.rowCount, "tokens": train.tokens.count,
                                   "trainedTokens": train.trainedTokenCount, "packed": packing] as [String: Any]]
        if !evalExamples.isEmpty {
            splits["eval"] = eval
            summaries["eval"] = ["examples": evalExamples.count, "rows": eval.rowCount, "tokens": eval.tokens.count,
                                 "trainedTokens": eval.trainedTokenCount, "packed": false]
        }
        let manifestJSON: [String: Any] = [
            "format": "flow.prepared-dataset", "formatVersion": PreparedDatasetManifest.currentFormatVersion,
            "sequenceLen": 24, "samplePacking": packing, "padToSequenceLen": false, "eosTokenID": 2, "padTokenID": 0,
            "tokenizerDigest": "test", "dataDigests": [], "configFingerprint": "test", "configFields": [:],
            "cacheKey": cacheKey, "splits": summaries, "files": [:],
        ]
        let manifest = try JSONDecoder().decode(PreparedDatasetManifest.self,
                                                from: JSONSerialization.data(withJSONObject: manifestJSON))
        let url = directory.appendingPathComponent("data", isDirectory: true)
        try PreparedDatasetWriter.write(to: url, manifest: manifest, splits: splits, stats: PreprocessingStats(), preview: [])
        return try PreparedDataset(directory: url)
    }

    /// LoRA (r 4 on every projection) options over micro-batches of 2, accumulating 2, at a high rate for tiny runs.
    static func loraOptions(steps: Int? = nil, epochs: Double = 1, dropout: Float = 0) -> TrainingOptions {
        var o = TrainingOptions()
        o.lora = LoRAConfig(rank: 4, alpha: 8, dropout: dropout)
        o.microBatchSize = 2
        o.evalBatchSize = 2
        o.gradientAccumulationSteps = 2
        o.maxSteps = steps
        o.numEpochs = epochs
        o.learningRate = 1e-2
        o.warmupSteps = 1
        o.weightDecay = 0.01
        o.seed = 3
        o.threads = ComputeThreads(count: 1)
        return o
    }

    /// Every trainable value of `trainer`'s model, in order.
    static func trainedValues(_ trainer: Trainer) -> [Float] {
        trainer.model.trainableParameters.flatMap(\.value.values)
    }

    /// Whether two float arrays hold the same bits (a Bool, so a failure does not print thousands of values).
    static func sameBits(_ a: [Float], _ b: [Float]) -> Bool { a.map(\.bitPattern) == b.map(\.bitPattern) }

    /// Fresh random base weights (the same for the same seed).
    static func weights(seed: UInt64 = 11) -> LlamaWeights { LlamaWeights.random(modelConfig, seed: seed) }
}
