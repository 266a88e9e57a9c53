import FlowKit
import Foundation

/// The training step: an Axolotl config, a prepared dataset and a base model in; a PEFT adapter (`adapter: lora`)
/// or, for full fine-tuning, a Hugging Face model directory out, with `trainer_state.json`, the tokenizer and
/// `checkpoints/checkpoint-N/`.
///
/// A base model directory holding `config.json` but no safetensors starts from random weights
/// (`LlamaWeights.random` with the config's seed): how the default workflow pretrains a tiny model from scratch.
public struct LoRATrain: Sendable {
    /// The Axolotl config, with `--set KEY=VALUE` overrides.
    public var configPath: String
    public var overrides: [String]
    /// The prepared dataset directory (the preprocess step's output).
    public var dataDirectory: URL
    /// The base model directory; nil takes the config's `base_model`.
    public var baseModel: URL?
    /// Where relative paths in the config start.
    public var baseDirectory: URL
    /// The compute threads (by default what the environment grants the step).
    public var threads: ComputeThreads

    /// A training step over prepared `data` with the model at `base` (or the config's `base_model`).
    public init(config: String, data: URL, base: URL? = nil, overrides: [String] = [],
                baseDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                threads: ComputeThreads = .fromEnvironment) {
        configPath = config
        dataDirectory = data
        baseModel = base
        self.overrides = overrides
        self.baseDirectory = baseDirectory
        self.threads = threads
    }

    /// Trains and writes the result into `output`.
    /// - Parameter resumeFrom: a `checkpoint-N/` folder of an earlier run of the same config to go on from.
    @discardableResult
    public func run(into output: URL, resumeFrom: URL? = nil, progress: ProgressReporter? = nil, log: StepLog? = nil) throws
        -> TrainingSummary
    {
        let config = try Preprocess(config: configPath, overrides: overrides, baseDirectory: baseDirectory).loadConfig()
        for note in config.notes { log?.info(note) }
        var options = try TrainingOptions(config: config)
        options.threads = threads
        let baseURL = try baseModelDirectory(config)
        let weights = try loadWeights(baseURL, seed: config.seed, log: log)
        let adapter = try config.loraModelDir.map { try LoRAAdapter.loadPEFT(from: resolve($0), modelConfig: weights.config) }
        guard options.lora != nil || adapter == nil else {
            throw TrainingError("\(config.sourceFile): lora_model_dir is set but adapter is not `lora`; set `adapter: lora` to go on training that adapter")
        }
        let dataset = try PreparedDataset(directory: dataDirectory)
        let baseName = config.baseModel ?? baseURL.path
        let trainer = try Trainer(weights: weights, adapter: adapter, dataset: dataset, options: options, baseModelName: baseName)
        log?.info("training \(options.lora == nil ? "every weight" : "a LoRA adapter (r \(options.lora?.rank ?? 0))") of \(baseName): "
                  + "\(dataset.train.rowCount) rows, \(trainer.plan.totalSteps) steps, \(trainer.plan.stepsPerEpoch) per epoch")
        let fm = FileManager.default
        try fm.createDirectory(at: output, withIntermediateDirectories: true)
        let summary = try trainer.train(checkpointDirectory: output.appendingPathComponent("checkpoints", isDirectory: true),
                                        resumeFrom: resumeFrom, progress: progress, log: log)
        if let adapter = trainer.model.adapter {
            try adapter.savePEFT(to: output, baseModelNameOrPath: baseName)
        } else {
            try trainer.model.weights.save(to: output)
        }
        try summary.state.write(to: output.appendingPathComponent(TrainingCheckpoint.stateFile))
        let tokenizer = dataDirectory.appendingPathComponent("tokenizer", isDirectory: true)
        let tokenizerCopy = output.appendingPathComponent("tokenizer", isDirectory: true)
        if fm.fileExists(atPath: tokenizer.path) {
            try? fm.removeItem(at: tokenizerCopy)
            try fm.copyItem(at: tokenizer, to: tokenizerCopy)
        }
        log?.info(String(format: "trained %d steps: loss %.4f%@, %.0f tokens/s", summary.steps, summary.finalLoss ?? 0,
                         summary.finalEvalLoss.map { String(format: ", eval_loss %.4f", $0) } ?? "", summary.tokensPerSecond))
        return summary
    }

    private func resolve(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : baseDirectory.appendingPathComponent(path)
    }

    private func baseModelDirectory(_ config: AxolotlConfig) throws -> URL {
        if let baseModel { return baseModel }
        guard let name = config.baseModel else {
            throw TrainingError("\(config.sourceFile): base_model is not set and no base model directory was given")
        }
        let url = resolve(name)
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) else {
            throw TrainingError("\(config.sourceFile): base_model `\(name)` is not a local model directory (no \(url.path)/config.json); flow does not download models — point base_model at a folder")
        }
        return url
    }

    private func loadWeights(_ directory: URL, seed: Int, log: StepLog?) throws -> LlamaWeights {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        if files.contains(where: { $0.hasSuffix(".safetensors") }) { return try LlamaModel.loadWeights(from: directory) }
        let config = try LlamaConfig.load(from: directory.appendingPathComponent("config.json"))
        log?.info("\(directory.path) has a config.json but no weights: starting from random weights (seed \(seed))")
        return LlamaWeights.random(config, seed: UInt64(truncatingIfNeeded: seed))
    }
}
