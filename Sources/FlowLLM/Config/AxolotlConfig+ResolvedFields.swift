extension AxolotlConfig {
    /// Every effective value, defaults included, keyed by its Axolotl name (for provenance and records).
    public func resolvedFields() -> [String: String] {
        func opt<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "unset" }
        func list(_ v: [String]) -> String { "[" + v.joined(separator: ", ") + "]" }
        var fields: [String: String] = [
            "base_model": opt(baseModel), "base_model_config": opt(baseModelConfig),
            "tokenizer_config": opt(tokenizerConfig), "tokenizer_type": opt(tokenizerType),
            "dataset_prepared_path": datasetPreparedPath, "val_set_size": "\(valSetSize)",
            "sequence_len": "\(sequenceLen)", "sample_packing": "\(samplePacking)",
            "eval_sample_packing": "\(effectiveEvalSamplePacking)",
            "pad_to_sequence_len": "\(effectivePadToSequenceLen)", "train_on_inputs": "\(trainOnInputs)",
            "special_tokens": specialTokens.sorted { $0.key < $1.key }.map { "\($0.key)=\(DatasetConfig.quoted($0.value))" }.joined(separator: ", "),
            "tokens": "[" + tokens.map(DatasetConfig.quoted).joined(separator: ", ") + "]",
            "chat_template": opt(chatTemplate), "seed": "\(seed)",
            "eot_tokens": eotTokens.map { "[" + $0.map(DatasetConfig.quoted).joined(separator: ", ") + "]" } ?? "unset",
            "excess_length_strategy": excessLengthStrategy.rawValue, "min_sample_len": "\(minSampleLen)",
            "shuffle_merged_datasets": "\(shuffleMergedDatasets)",
            "adapter": opt(adapter), "lora_r": opt(loraR), "lora_alpha": opt(loraAlpha),
            "lora_dropout": "\(loraDropout)", "lora_target_modules": list(loraTargetModules),
            "lora_target_linear": "\(loraTargetLinear)", "lora_modules_to_save": list(loraModulesToSave),
            "lora_fan_in_fan_out": "\(loraFanInFanOut)", "peft_use_rslora": "\(peftUseRSLoRA)",
            "lora_model_dir": opt(loraModelDir),
            "micro_batch_size": "\(microBatchSize)", "eval_batch_size": "\(evalBatchSize ?? microBatchSize)",
            "gradient_accumulation_steps": "\(gradientAccumulationSteps)", "num_epochs": "\(numEpochs)",
            "max_steps": opt(maxSteps), "learning_rate": opt(learningRate), "lr_scheduler": lrScheduler,
            "warmup_steps": opt(warmupSteps), "warmup_ratio": opt(warmupRatio), "optimizer": opt(optimizer),
            "weight_decay": "\(weightDecay)", "max_grad_norm": opt(maxGradNorm), "adam_beta1": opt(adamBeta1),
            "adam_beta2": opt(adamBeta2), "adam_epsilon": opt(adamEpsilon), "output_dir": outputDir,
            "eval_steps": opt(evalSteps), "evals_per_epoch": opt(evalsPerEpoch), "save_steps": opt(saveSteps),
            "saves_per_epoch": opt(savesPerEpoch), "logging_steps": opt(loggingSteps),
        ]
        for (i, d) in datasets.enumerated() { fields["datasets[\(i)]"] = d.canonical }
        return fields
    }

    /// The fields that change prepared data, in a fixed order: the config half of the preprocessing cache key.
    public func preprocessingFingerprintFields() -> [(String, String)] {
        let all = resolvedFields()
        let keys = ["sequence_len", "sample_packing", "eval_sample_packing", "pad_to_sequence_len", "train_on_inputs",
                    "special_tokens", "tokens", "chat_template", "eot_tokens", "seed", "excess_length_strategy", "min_sample_len",
                    "shuffle_merged_datasets", "val_set_size"]
        var out = keys.map { ($0, all[$0] ?? "") }
        // The path is left out: the data digest stands for the content wherever it lives.
        for (i, d) in datasets.enumerated() {
            var unplaced = d
            unplaced.path = ""
            unplaced.line = nil
            unplaced.dataFiles = []
            out.append(("datasets[\(i)]", unplaced.canonical))
        }
        return out
    }
}
