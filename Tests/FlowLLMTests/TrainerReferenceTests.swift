import Foundation
import Testing
@testable import FlowLLM

/// The Trainer against the same run in PyTorch (scripts/fixtures/trainer.py --training): transformers' Llama,
/// peft's LoRA, torch's AdamW (no decay on norms), clip_grad_norm_, get_cosine_schedule_with_warmup, numpy's row
/// order, loss over the step's trained tokens — four steps over two epochs with accumulation and clipping.
@Suite struct TrainerReferenceTests {
    struct Expected: Decodable {
        struct Row: Decodable { let input_ids: [Int32], labels: [Int32] }
        struct Run: Decodable { let losses: [Double], grad_norms: [Double], learning_rates: [Double] }
        let rows: [Row]
        let full: Run, lora: Run
    }

    static func reference() throws -> (URL, Expected) {
        let url = try #require(Bundle.module.url(forResource: "reference", withExtension: nil, subdirectory: "Fixtures/trainer"))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url.appendingPathComponent("expected.json")))
        return (url, expected)
    }

    /// Trains as the reference run did and checks every step's loss, rate and gradient norm, then the final weights.
    static func check(adapter: Bool) throws {
        let (reference, expected) = try reference()
        try withTemporaryDirectory { dir in
            let examples = expected.rows.map { TokenizedExample(inputIDs: $0.input_ids, labels: $0.labels) }
            let data = try TrainerTests.dataset(in: dir, train: examples, eval: [], cacheKey: "reference")
            let weights = try LlamaModel.loadWeights(from: reference.appendingPathComponent("base"))
            let initial = adapter
                ? try LoRAAdapter.loadPEFT(from: reference.appendingPathComponent("adapter-initial"), modelConfig: weights.config) : nil
            var o = TrainingOptions()
            o.lora = initial?.config
            o.microBatchSize = 2
            o.gradientAccumulationSteps = 2
            o.maxSteps = 4
            o.learningRate = 1e-2
            o.warmupSteps = 1
            o.weightDecay = 0.1
            o.maxGradNorm = 1
            o.seed = 3
            o.loggingSteps = 1
            o.threads = ComputeThreads(count: 1)
            let trainer = try Trainer(weights: weights, adapter: initial, dataset: data, options: o)
            var metrics: [[String: Double]] = []
            trainer.onProgress = { metrics.append($1) }
            _ = try trainer.train()
            let run = adapter ? expected.lora : expected.full
            #expect(metrics.count == 4)
            for (step, m) in metrics.enumerated() {
                #expect(abs((m["loss"] ?? 0) - run.losses[step]) < 1e-5 * run.losses[step], "step \(step) loss")
                #expect(abs((m["grad_norm"] ?? 0) - run.grad_norms[step]) < 1e-5 * run.grad_norms[step], "step \(step) grad norm")
                #expect(m["learning_rate"] == run.learning_rates[step], "step \(step) learning rate")
            }
            let final = try SafeTensorsFile(url: reference.appendingPathComponent(adapter ? "lora-final.safetensors" : "full-final.safetensors"))
            let parameters = trainer.model.trainableParameters
            #expect(Set(parameters.map(\.name)).isSubset(of: Set(final.tensorNames)))
            for p in parameters {
                let error = relativeError(p.value, try final.tensor(p.name, expectedShape: p.value.shape))
                #expect(error < 2e-5, "\(p.name): relative error \(error)")
            }
        }
    }

    @Test func fullFineTuningMatchesTorch() throws { try Self.check(adapter: false) }

    @Test func loraMatchesPeft() throws { try Self.check(adapter: true) }
}
