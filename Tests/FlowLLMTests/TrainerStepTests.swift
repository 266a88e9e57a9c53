import Foundation
import Testing
@testable import FlowLLM

@Suite struct TrainerStepTests {
    /// Writes a config and a base model directory (weights, or only config.json) under `dir`.
    static func setUp(_ dir: URL, adapter: Bool, weights: Bool = true) throws -> (config: String, data: URL) {
        let base = dir.appendingPathComponent("base")
        if weights {
            try TrainerTests.weights().save(to: base)
        } else {
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            try JSONEncoder().encode(TrainerTests.modelConfig).write(to: base.appendingPathComponent("config.json"))
        }
        let data = try TrainerTests.dataset(in: dir).directory
        try FileManager.default.createDirectory(at: data.appendingPathComponent("tokenizer"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: data.appendingPathComponent("tokenizer/tokenizer.json"))
        let yaml = """
            base_model: base
            datasets:
              - path: rows.jsonl
                type: completion
            \(adapter ? "adapter: lora\nlora_r: 4\nlora_alpha: 8\nlora_dropout: 0.1\nlora_target_linear: true" : "")
            micro_batch_size: 2
            gradient_accumulation_steps: 2
            num_epochs: 2
            learning_rate: 0.01
            lr_scheduler: linear
            warmup_steps: 1
            save_steps: 2
            eval_steps: 2
            logging_steps: 1
            seed: 5
            """
        try Data(yaml.utf8).write(to: dir.appendingPathComponent("train.yml"))
        return ("train.yml", data)
    }

    /// The step writes a PEFT adapter, trainer_state.json, the tokenizer and checkpoints; two runs of the same
    /// config give the same adapter bytes, and `--set seed=…` another.
    @Test func loraStepWritesAdapterAndIsReproducible() throws {
        try withTemporaryDirectory { dir in
            let (config, data) = try Self.setUp(dir, adapter: true)
            func run(_ name: String, overrides: [String] = []) throws -> (URL, TrainingSummary) {
                let out = dir.appendingPathComponent(name)
                let step = LoRATrain(config: config, data: data, overrides: overrides, baseDirectory: dir, threads: ComputeThreads(count: 1))
                return (out, try step.run(into: out))
            }
            let (a, summary) = try run("a"), (b, _) = try run("b"), (c, _) = try run("c", overrides: ["seed=6"])
            #expect(summary.steps == 4)
            let fm = FileManager.default
            for file in ["adapter_config.json", "adapter_model.safetensors", "trainer_state.json", "tokenizer/tokenizer.json",
                         "checkpoints/checkpoint-2/checkpoint.json", "checkpoints/checkpoint-4/optimizer.safetensors"] {
                #expect(fm.fileExists(atPath: a.appendingPathComponent(file).path), "\(file)")
            }
            let adapter = { (dir: URL) in try Data(contentsOf: dir.appendingPathComponent("adapter_model.safetensors")) }
            #expect(try adapter(a) == adapter(b))
            #expect(try adapter(a) != adapter(c))
            let state = try TrainerState.read(from: a.appendingPathComponent("trainer_state.json"))
            #expect(state.globalStep == 4 && state.logHistory.compactMap(\.evalLoss).count == 2)
            let loaded = try LoRAAdapter.loadPEFT(from: a, modelConfig: TrainerTests.modelConfig)
            #expect(loaded.config.rank == 4 && loaded.config.targets.count == 7)
        }
    }

    /// `lora_model_dir` goes on training a saved adapter: it starts from those weights, not a fresh initialisation.
    @Test func loraModelDirContinuesAnAdapter() throws {
        try withTemporaryDirectory { dir in
            let (config, data) = try Self.setUp(dir, adapter: true)
            let first = dir.appendingPathComponent("first"), second = dir.appendingPathComponent("second")
            let threads = ComputeThreads(count: 1)
            try LoRATrain(config: config, data: data, baseDirectory: dir, threads: threads).run(into: first)
            let step = LoRATrain(config: config, data: data, overrides: ["lora_model_dir=first", "max_steps=1", "learning_rate=0"],
                                 baseDirectory: dir, threads: threads)
            try step.run(into: second)
            // One step at rate 0 changes nothing (weight decay is 0 here), so the adapter comes back as it was saved.
            let saved = { (url: URL) in try Data(contentsOf: url.appendingPathComponent("adapter_model.safetensors")) }
            #expect(try saved(first) == saved(second))
        }
    }

    /// Full fine-tuning from a base directory with only config.json starts from random weights and writes a
    /// Hugging Face model directory that loads back.
    @Test func fullFineTuningFromScratchWritesModel() throws {
        try withTemporaryDirectory { dir in
            let (config, data) = try Self.setUp(dir, adapter: false, weights: false)
            let out = dir.appendingPathComponent("out")
            let summary = try LoRATrain(config: config, data: data, baseDirectory: dir, threads: ComputeThreads(count: 1)).run(into: out)
            #expect(summary.steps == 4)
            let weights = try LlamaModel.loadWeights(from: out)
            #expect(weights.config == TrainerTests.modelConfig)
            let start = LlamaWeights.random(TrainerTests.modelConfig, seed: 5)
            #expect(!TrainerTests.sameBits(weights.embedTokens.values, start.embedTokens.values))
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoints/checkpoint-4/model.safetensors").path))
        }
    }

    /// Options the native trainer cannot honour are refused with the key named.
    @Test func refusesUnsupportedOptions() throws {
        func message(_ yaml: String) throws -> String {
            let config = try AxolotlConfig.parse(yaml: yaml, file: "t.yml")
            return try #require(throws: TrainingError.self) { try TrainingOptions(config: config) }.message
        }
        #expect(try message("adapter: qlora\nlora_r: 8\nlearning_rate: 0.001").contains("qlora"))
        #expect(try message("micro_batch_size: 1").contains("learning_rate"))
        #expect(try message("adapter: lora\nlora_r: 8\nlora_target_modules: [q_proj, c_attn]\nlearning_rate: 0.001").contains("c_attn"))
        #expect(try message("learning_rate: 0.001\noptimizer: sgd").contains("sgd"))
        let ok = try TrainingOptions(config: try AxolotlConfig.parse(
            yaml: "adapter: lora\nlora_r: 8\nlora_alpha: 16\nlora_target_modules: [q_proj, v_proj]\nlearning_rate: 0.001\nmax_grad_norm: 0.5",
            file: "t.yml"))
        #expect(ok.lora == LoRAConfig(rank: 8, alpha: 16, targets: [.q, .v]))
        #expect(ok.maxGradNorm == 0.5 && ok.learningRate == 0.001)
    }

    /// End to end with `lora_modules_to_save`: the step trains full copies of embed_tokens and lm_head and writes
    /// them in the adapter, the merge puts them in place of the base tensors, and the merged model computes what
    /// base + adapter computes.
    @Test func modulesToSaveTrainAndMerge() throws {
        try withTemporaryDirectory { dir in
            let (config, data) = try Self.setUp(dir, adapter: true)
            let out = dir.appendingPathComponent("out"), baseURL = dir.appendingPathComponent("base")
            let step = LoRATrain(config: config, data: data, overrides: ["lora_modules_to_save=[embed_tokens, lm_head]"],
                                 baseDirectory: dir, threads: ComputeThreads(count: 1))
            try step.run(into: out)
            let base = try LlamaModel.loadWeights(from: baseURL)
            let adapter = try LoRAAdapter.loadPEFT(from: out, modelConfig: base.config)
            #expect(adapter.config.modulesToSave == [.embedTokens, .lmHead])
            #expect(relativeError(try #require(adapter.savedModule(.embedTokens)), base.embedTokens) > 1e-4)
            #expect(relativeError(try #require(adapter.savedModule(.lmHead)), base.outputProjection) > 1e-4)

            let merged = dir.appendingPathComponent("merged")
            let summary = try LoRAMerge(base: baseURL, adapter: out).run(into: merged)
            #expect(summary.tensorsReplaced == 2 && summary.tensorsMerged == 2 * 7)
            let batch = try LlamaBatch(rows: 1, length: 6, tokens: [1, 7, 3, 30, 5, 12])
            let unmerged = LlamaModel(weights: base, adapter: adapter, threads: ComputeThreads(count: 1))
            try unmerged.forward(batch)
            let mergedModel = LlamaModel(weights: try LlamaModel.loadWeights(from: merged), threads: ComputeThreads(count: 1))
            try mergedModel.forward(batch)
            #expect(relativeError(try #require(unmerged.logits), try #require(mergedModel.logits)) < 1e-5)
        }
    }

    /// The shared Axolotl configs read into LoRA options, `lora_modules_to_save: [embed_tokens, lm_head]` included.
    @Test func sharedConfigsReadIntoOptions() throws {
        let directory = DataTests.sharedFile("axolotl-configs")
        for name in ["codellama.yml", "mistral.yml", "mistral-memorize.yml"] {
            let options = try TrainingOptions(config: try AxolotlConfig.load(from: directory.appendingPathComponent(name)))
            #expect(options.lora?.targets.count == 7 && options.learningRate == 1e-4 && options.lrScheduler == "cosine", "\(name)")
            #expect(options.lora?.modulesToSave == [.embedTokens, .lmHead], "\(name)")
            #expect(options.warmupSteps == 10)
        }
    }

    /// `lora_modules_to_save` takes PEFT's spellings of the two modules (a path or its dotted suffix), in any order
    /// and repeated; anything else is refused naming the key, the entry and what is accepted.
    @Test func modulesToSaveSpellings() throws {
        func options(_ list: String) throws -> TrainingOptions {
            try TrainingOptions(config: try AxolotlConfig.parse(
                yaml: "adapter: lora\nlora_r: 8\nlora_target_modules: [q_proj]\nlearning_rate: 0.001\nlora_modules_to_save: \(list)",
                file: "t.yml"))
        }
        #expect(try options("[lm_head, model.embed_tokens]").lora?.modulesToSave == [.embedTokens, .lmHead])
        #expect(try options("[embed_tokens, embed_tokens]").lora?.modulesToSave == [.embedTokens])
        #expect(try options("[]").lora?.modulesToSave == [])
        for bad in ["tokens", "norm", "q_proj", "wte"] {
            let error = try #require(throws: TrainingError.self) { try options("[\(bad)]") }
            #expect(error.message.contains("lora_modules_to_save names `\(bad)`") && error.message.contains("embed_tokens"))
        }
    }
}
