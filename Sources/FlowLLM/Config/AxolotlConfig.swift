/// What to do with an example longer than `sequence_len` (`excess_length_strategy`).
public enum ExcessLengthStrategy: String, Sendable, CaseIterable {
    /// Drop it (Axolotl's default).
    case drop
    /// Keep its first `sequence_len` tokens.
    case truncate
    /// Fail the preparation.
    case raise
}

/// An Axolotl YAML training config, read as practitioners write it, with Axolotl's defaults.
public struct AxolotlConfig: Sendable, Equatable {
    /// The file it was read from (`<string>` when parsed from text).
    public var sourceFile = "<string>"

    // Model and tokenizer.
    /// `base_model`.
    public var baseModel: String?
    /// `base_model_config`.
    public var baseModelConfig: String?
    /// `tokenizer_config`.
    public var tokenizerConfig: String?
    /// `tokenizer_type`.
    public var tokenizerType: String?

    // Data.
    /// `datasets`.
    public var datasets: [DatasetConfig] = []
    /// `dataset_prepared_path`.
    public var datasetPreparedPath = "last_run_prepared"
    /// `val_set_size`: above 1 a row count, else a fraction.
    public var valSetSize = 0.0
    /// `sequence_len`.
    public var sequenceLen = 512
    /// `sample_packing`.
    public var samplePacking = false
    /// `eval_sample_packing`; nil follows `sample_packing`.
    public var evalSamplePacking: Bool?
    /// `pad_to_sequence_len`; nil follows `sample_packing` (Axolotl turns it on with packing).
    public var padToSequenceLen: Bool?
    /// `train_on_inputs`.
    public var trainOnInputs = false
    /// `special_tokens`: bos_token, eos_token, pad_token, unk_token.
    public var specialTokens: [String: String] = [:]
    /// `tokens`: tokens to add to the vocabulary.
    public var tokens: [String] = []
    /// `chat_template`.
    public var chatTemplate: String?
    /// `eot_tokens`: tokens that end a chat turn (default: EOS).
    public var eotTokens: [String]?
    /// `seed`.
    public var seed = 42
    /// `excess_length_strategy`.
    public var excessLengthStrategy = ExcessLengthStrategy.drop
    /// `min_sample_len`.
    public var minSampleLen = 2
    /// `shuffle_merged_datasets`.
    public var shuffleMergedDatasets = true

    // Adapter.
    /// `adapter`.
    public var adapter: String?
    /// `lora_r`.
    public var loraR: Int?
    /// `lora_alpha`.
    public var loraAlpha: Double?
    /// `lora_dropout`.
    public var loraDropout = 0.0
    /// `lora_target_modules`.
    public var loraTargetModules: [String] = []
    /// `lora_target_linear`.
    public var loraTargetLinear = false
    /// `lora_modules_to_save`.
    public var loraModulesToSave: [String] = []
    /// `lora_fan_in_fan_out`.
    public var loraFanInFanOut = false
    /// `peft_use_rslora`.
    public var peftUseRSLoRA = false
    /// `lora_model_dir`.
    public var loraModelDir: String?

    // Training.
    /// `micro_batch_size`.
    public var microBatchSize = 1
    /// `eval_batch_size`.
    public var evalBatchSize: Int?
    /// `gradient_accumulation_steps`.
    public var gradientAccumulationSteps = 1
    /// `num_epochs`.
    public var numEpochs = 1.0
    /// `max_steps`.
    public var maxSteps: Int?
    /// `learning_rate`.
    public var learningRate: Double?
    /// `lr_scheduler`.
    public var lrScheduler = "cosine"
    /// `warmup_steps`.
    public var warmupSteps: Int?
    /// `warmup_ratio`.
    public var warmupRatio: Double?
    /// `optimizer`.
    public var optimizer: String?
    /// `weight_decay`.
    public var weightDecay = 0.0
    /// `max_grad_norm`.
    public var maxGradNorm: Double?
    /// `adam_beta1`.
    public var adamBeta1: Double?
    /// `adam_beta2`.
    public var adamBeta2: Double?
    /// `adam_epsilon`.
    public var adamEpsilon: Double?
    /// `output_dir`.
    public var outputDir = "./model-out"
    /// `eval_steps`: a count, or a fraction of the total steps when below 1.
    public var evalSteps: Double?
    /// `evals_per_epoch`.
    public var evalsPerEpoch: Int?
    /// `save_steps`: a count, or a fraction of the total steps when below 1.
    public var saveSteps: Double?
    /// `saves_per_epoch`.
    public var savesPerEpoch: Int?
    /// `logging_steps`.
    public var loggingSteps: Int?

    /// Keys present in the file that flow reads but does not use (GPU or runtime only), in file order.
    public var ignoredKeys: [String] = []
    /// Unknown keys, with a suggestion when one is close to a known key.
    public var diagnostics: [AxolotlConfigDiagnostic] = []

    /// A config with every default.
    public init() {}

    /// What a user should read about the config once: the ignored keys on one line, then each unknown key.
    public var notes: [String] {
        var lines: [String] = []
        if !ignoredKeys.isEmpty {
            lines.append("\(sourceFile): GPU/runtime-only, ignored: \(ignoredKeys.joined(separator: ", "))")
        }
        lines += diagnostics.map { "\(sourceFile): \($0)" }
        return lines
    }

    /// `pad_to_sequence_len` as it takes effect.
    public var effectivePadToSequenceLen: Bool { padToSequenceLen ?? samplePacking }
    /// `eval_sample_packing` as it takes effect.
    public var effectiveEvalSamplePacking: Bool { evalSamplePacking ?? samplePacking }

    /// The number of evaluation rows for a dataset of `count` rows (fractions round up, as `datasets` does).
    public func evalRowCount(of count: Int) -> Int {
        if valSetSize <= 0 { return 0 }
        if valSetSize > 1 { return min(count, Int(valSetSize)) }
        return min(count, Int((valSetSize * Double(count)).rounded(.up)))
    }

    /// Warmup steps for a run of `totalSteps`: `warmup_steps`, else `warmup_ratio`, else min(3 %, 100).
    public func resolvedWarmupSteps(totalSteps: Int) -> Int {
        if let warmupSteps { return warmupSteps }
        if let warmupRatio { return Int((warmupRatio * Double(totalSteps)).rounded(.up)) }
        return min(Int(0.03 * Double(totalSteps)), 100)
    }

    /// LoRA scaling: `lora_alpha / r`, or `lora_alpha / sqrt(r)` with `peft_use_rslora`.
    public var loraScaling: Double? {
        guard let r = loraR, r > 0, let alpha = loraAlpha else { return nil }
        return peftUseRSLoRA ? alpha / Double(r).squareRoot() : alpha / Double(r)
    }
}
