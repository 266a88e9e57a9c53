import Foundation

/// What a training run does, read from an Axolotl config: adapter or full fine-tuning, batch shape,
/// epochs, optimizer, schedule, and when to log, evaluate and save.
public struct TrainingOptions: Sendable {
    /// The LoRA adapter to train; nil trains every base weight (full fine-tuning).
    public var lora: LoRAConfig?
    /// Rows per micro-batch (`micro_batch_size`) and per eval batch (`eval_batch_size`, default the former).
    public var microBatchSize = 1, evalBatchSize = 1
    /// Micro-batches per optimizer step (`gradient_accumulation_steps`).
    public var gradientAccumulationSteps = 1
    /// Passes over the training rows (`num_epochs`; fractions stop part way), unless `maxSteps` is set.
    public var numEpochs = 1.0
    /// Optimizer steps of the run (`max_steps`), overriding `numEpochs`.
    public var maxSteps: Int?
    /// Peak learning rate (`learning_rate`).
    public var learningRate = 2e-4
    /// `lr_scheduler`: cosine, linear, constant or constant_with_warmup.
    public var lrScheduler = "cosine"
    /// `warmup_steps`, else `warmup_ratio`, else Axolotl's min(3 % of the steps, 100).
    public var warmupSteps: Int?, warmupRatio: Double?
    /// AdamW's decoupled weight decay (`weight_decay`).
    public var weightDecay = 0.0
    /// Global gradient-norm clipping (`max_grad_norm`, transformers' default 1); 0 turns it off.
    public var maxGradNorm = 1.0
    /// AdamW's β1, β2, ε (`adam_beta1`, `adam_beta2`, `adam_epsilon`; torch's defaults).
    public var adamBeta1 = 0.9, adamBeta2 = 0.999, adamEpsilon = 1e-8
    /// Evaluation interval: `eval_steps` (a count, or a fraction of the run below 1), else `evals_per_epoch`.
    public var evalSteps: Double?, evalsPerEpoch: Int?
    /// Checkpoint interval: `save_steps` (a count, or a fraction of the run below 1), else `saves_per_epoch`.
    public var saveSteps: Double?, savesPerEpoch: Int?
    /// Metrics interval in optimizer steps (`logging_steps`; Axolotl's default max(1, min(10, 0.5 % of the run))).
    public var loggingSteps: Int?
    /// Seeds the adapter's initialisation, the epoch shuffles and LoRA dropout (`seed`).
    public var seed = 42
    /// The compute threads; a run is bit-identical only with the same count.
    public var threads = ComputeThreads.fromEnvironment

    /// Defaults: full fine-tuning, batch 1, one epoch, cosine schedule at 2e-4.
    public init() {}

    /// The options `config` sets; throws when a value cannot be trained natively (e.g. `adapter: qlora`).
    public init(config: AxolotlConfig) throws {
        lora = try Self.loraConfig(config)
        microBatchSize = config.microBatchSize
        evalBatchSize = config.evalBatchSize ?? config.microBatchSize
        gradientAccumulationSteps = config.gradientAccumulationSteps
        numEpochs = config.numEpochs
        maxSteps = config.maxSteps.flatMap { $0 > 0 ? $0 : nil }
        guard let rate = config.learningRate else {
            throw TrainingError("\(config.sourceFile): learning_rate is not set; add e.g. `learning_rate: 0.0002`")
        }
        learningRate = rate
        lrScheduler = config.lrScheduler
        warmupSteps = config.warmupSteps
        warmupRatio = config.warmupRatio
        if let optimizer = config.optimizer, !optimizer.hasPrefix("adamw") {
            throw TrainingError("\(config.sourceFile): optimizer `\(optimizer)` is not supported natively; use adamw_torch")
        }
        weightDecay = config.weightDecay
        maxGradNorm = config.maxGradNorm ?? 1
        adamBeta1 = config.adamBeta1 ?? 0.9
        adamBeta2 = config.adamBeta2 ?? 0.999
        adamEpsilon = config.adamEpsilon ?? 1e-8
        evalSteps = config.evalSteps
        evalsPerEpoch = config.evalsPerEpoch
        saveSteps = config.saveSteps
        savesPerEpoch = config.savesPerEpoch
        loggingSteps = config.loggingSteps
        seed = config.seed
        try validate(file: config.sourceFile)
    }

    /// Checks the values a user could get wrong.
    public func validate(file: String = "options") throws {
        guard microBatchSize > 0, evalBatchSize > 0 else {
            throw TrainingError("\(file): micro_batch_size and eval_batch_size must be positive")
        }
        guard gradientAccumulationSteps > 0 else { throw TrainingError("\(file): gradient_accumulation_steps must be positive") }
        guard numEpochs > 0 || maxSteps != nil else { throw TrainingError("\(file): num_epochs must be positive (or set max_steps)") }
        guard learningRate >= 0, weightDecay >= 0, maxGradNorm >= 0 else {
            throw TrainingError("\(file): learning_rate, weight_decay and max_grad_norm must not be negative")
        }
        _ = try LearningRateSchedule(lrScheduler: lrScheduler, peakLearningRate: learningRate, warmupSteps: 0, totalSteps: 1)
        try lora?.validate()
    }

    private static func loraConfig(_ config: AxolotlConfig) throws -> LoRAConfig? {
        guard let adapter = config.adapter, !adapter.isEmpty else { return nil }
        guard adapter == "lora" else {
            throw TrainingError("\(config.sourceFile): adapter `\(adapter)` cannot be trained natively (4-bit and other adapters need a GPU); use `adapter: lora` or run Axolotl on a GPU host")
        }
        guard let rank = config.loraR else { throw TrainingError("\(config.sourceFile): adapter is lora but lora_r is not set") }
        let targets: [LlamaProjection]
        if config.loraTargetLinear {
            targets = LlamaProjection.allCases
        } else {
            targets = try config.loraTargetModules.map { name in
                guard let p = LlamaProjection(rawValue: name) else {
                    throw TrainingError("\(config.sourceFile): lora_target_modules names `\(name)`; a Llama model has \(LlamaProjection.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return p
            }
        }
        let modulesToSave: [LoRASavedModule]
        do {
            modulesToSave = try LoRASavedModule.parse(config.loraModulesToSave, field: "lora_modules_to_save", source: config.sourceFile)
        } catch let error as LlamaModelError {
            throw TrainingError(error.message)
        }
        return LoRAConfig(rank: rank, alpha: config.loraAlpha ?? Double(rank), dropout: Float(config.loraDropout),
                          targets: targets, useRSLoRA: config.peftUseRSLoRA, modulesToSave: modulesToSave)
    }
}
