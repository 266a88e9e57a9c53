import Foundation
import Testing
@testable import FlowLLM

/// The Trainer against the same run in PyTorch (scripts/fixtures/trainer.py --training): transformers' Llama,
/// peft's LoRA, torch's AdamW (no decay on norms), clip_grad_norm_, get_cosine_schedule_with_warmup, numpy's row
/// order, loss over the step's trained tokens — four steps over two epochs with accumulation and clipping. The
/// modules_to_save runs (`--modules-to-save`) add peft's full trained copies of embed_tokens and lm_head, on an
/// untied base and on a tied one (two separate copies there, as peft makes them).
@Suite struct TrainerReferenceTests {
    struct Expected: Decodable {
        struct Row: Decodable { let input_ids: [Int32], labels: [Int32] }
        struct Run: Decodable { let losses: [Double], grad_norms: [Double], learning_rates: [Double] }
        let rows: [Row]
        let full: Run, lora: Run
    }

    struct ExpectedModulesToSave: Decodable {
        let mts: Expected.Run
        let mtsTied: Expected.Run
        enum CodingKeys: String, CodingKey { case mts, mtsTied = "mts-tied" }
    }

    /// A reference run: its base, its initial adapter (nil for full fine-tuning) and its final tensors.
    enum Run {
        case full, lora, modulesToSave, modulesToSaveTied

        var base: String { self == .modulesToSaveTied ? "base-tied" : "base" }
        var initialAdapter: String? {
            switch self {
            case .full: nil
            case .lora: "adapter-initial"
            case .modulesToSave: "adapter-mts-initial"
            case .modulesToSaveTied: "adapter-mts-tied-initial"
            }
        }
        var final: String {
            switch self {
            case .full: "full-final.safetensors"
            case .lora: "lora-final.safetensors"
            case .modulesToSave: "lora-mts-final.safetensors"
            case .modulesToSaveTied: "lora-mts-tied-final.safetensors"
            }
        }
    }

    static func reference() throws -> (URL, Expected) {
        let url = try #require(Bundle.module.url(forResource: "reference", withExtension: nil, subdirectory: "Fixtures/trainer"))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url.appendingPathComponent("expected.json")))
        return (url, expected)
    }

    static func expectedRun(_ run: Run, reference: URL, expected: Expected) throws -> Expected.Run {
        switch run {
        case .full: return expected.full
        case .lora: return expected.lora
        case .modulesToSave, .modulesToSaveTied:
            let mts = try JSONDecoder().decode(ExpectedModulesToSave.self,
                                               from: Data(contentsOf: reference.appendingPathComponent("expected-mts.json")))
            return run == .modulesToSave ? mts.mts : mts.mtsTied
        }
    }

    /// The options of the reference runs.
    static var referenceOptions: TrainingOptions {
        var o = TrainingOptions()
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
        return o
    }

    /// Trains as the reference run did and checks every step's loss, rate and gradient norm, then the final weights.
    static func check(_ runCase: Run) throws {
        let (reference, expected) = try reference()
        try withTemporaryDirectory { dir in
            let examples = expected.rows.map { TokenizedExample(inputIDs: $0.input_ids, labels: $0.labels) }
            let data = try TrainerTests.dataset(in: dir, train: examples, eval: [], cacheKey: "reference")
            let weights = try LlamaModel.loadWeights(from: reference.appendingPathComponent(runCase.base))
            let initial = try runCase.initialAdapter.map {
                try LoRAAdapter.loadPEFT(from: reference.appendingPathComponent($0), modelConfig: weights.config)
            }
            var o = referenceOptions
            o.lora = initial?.config
            let trainer = try Trainer(weights: weights, adapter: initial, dataset: data, options: o)
            var metrics: [[String: Double]] = []
            trainer.onProgress = { metrics.append($1) }
            _ = try trainer.train()
            let run = try expectedRun(runCase, reference: reference, expected: expected)
            #expect(metrics.count == 4)
            for (step, m) in metrics.enumerated() {
                #expect(abs((m["loss"] ?? 0) - run.losses[step]) < 1e-5 * run.losses[step], "step \(step) loss")
                #expect(abs((m["grad_norm"] ?? 0) - run.grad_norms[step]) < 1e-5 * run.grad_norms[step], "step \(step) grad norm")
                #expect(m["learning_rate"] == run.learning_rates[step], "step \(step) learning rate")
            }
            let final = try SafeTensorsFile(url: reference.appendingPathComponent(runCase.final))
            let parameters = trainer.model.trainableParameters
            if runCase == .full {
                #expect(Set(parameters.map(\.name)).isSubset(of: Set(final.tensorNames)))
            } else {  // every tensor peft trained and saves, flow trains too
                #expect(Set(parameters.map(\.name)) == Set(final.tensorNames))
            }
            for p in parameters {
                let error = relativeError(p.value, try final.tensor(p.name, expectedShape: p.value.shape))
                #expect(error < 2e-5, "\(p.name): relative error \(error)")
            }
        }
    }

    @Test func fullFineTuningMatchesTorch() throws { try Self.check(.full) }

    @Test func loraMatchesPeft() throws { try Self.check(.lora) }

    /// peft's adapter with modules_to_save loads into flow (both copies, equal to the base weights), trains as
    /// peft trains it, and every trained tensor — the copies included — ends as peft's.
    @Test(arguments: [Run.modulesToSave, .modulesToSaveTied])
    func modulesToSaveMatchPeft(_ run: Run) throws {
        let (reference, _) = try Self.reference()
        let weights = try LlamaModel.loadWeights(from: reference.appendingPathComponent(run.base))
        let initial = try LoRAAdapter.loadPEFT(from: reference.appendingPathComponent(try #require(run.initialAdapter)),
                                               modelConfig: weights.config)
        #expect(initial.config.modulesToSave == [.embedTokens, .lmHead])
        #expect(try #require(initial.savedModule(.embedTokens)).values == weights.embedTokens.values)
        #expect(try #require(initial.savedModule(.lmHead)).values == weights.outputProjection.values)
        #expect(weights.config.tieWordEmbeddings == (run == .modulesToSaveTied))
        try Self.check(run)
    }

    /// One unpadded row's mean loss from peft's initial adapter with modules_to_save: flow's gradients of the pairs
    /// and of both copies are peft's (relative error ≤ 1e-4), on the untied base and on the tied one.
    @Test(arguments: [Run.modulesToSave, .modulesToSaveTied])
    func modulesToSaveGradientsMatchPeft(_ run: Run) throws {
        let (reference, expected) = try Self.reference()
        let weights = try LlamaModel.loadWeights(from: reference.appendingPathComponent(run.base))
        let adapter = try LoRAAdapter.loadPEFT(from: reference.appendingPathComponent(try #require(run.initialAdapter)),
                                               modelConfig: weights.config)
        let row = expected.rows[0]
        let model = LlamaModel(weights: weights, adapter: adapter, threads: ComputeThreads(count: 1))
        try model.forward(LlamaBatch(rows: 1, length: row.input_ids.count, tokens: row.input_ids, labels: row.labels),
                          training: true)
        try model.backward()
        let grads = try SafeTensorsFile(url: reference.appendingPathComponent(run == .modulesToSave ? "grads-mts.safetensors"
                                                                                                    : "grads-mts-tied.safetensors"))
        let parameters = model.trainableParameters
        #expect(Set(parameters.map(\.name)) == Set(grads.tensorNames))
        for p in parameters {
            let error = relativeError(p.gradient, try grads.tensor(p.name, expectedShape: p.gradient.shape))
            #expect(error <= 1e-4, "\(p.name): relative error \(error)")
        }
    }
}
