import Yams

/// Sets one config field from a YAML node.
typealias AxolotlKeySetter = @Sendable (inout AxolotlConfig, Node, AxolotlConfigNodeReader) throws -> Void

extension AxolotlConfig {
    /// Every key flow reads, with how it is set.
    static let keySetters: [String: AxolotlKeySetter] = [
        "base_model": { c, n, r in c.baseModel = try r.string(n, "base_model") },
        "base_model_config": { c, n, r in c.baseModelConfig = try r.string(n, "base_model_config") },
        "tokenizer_config": { c, n, r in c.tokenizerConfig = try r.string(n, "tokenizer_config") },
        "tokenizer_type": { c, n, r in c.tokenizerType = try r.string(n, "tokenizer_type") },
        "datasets": { c, n, r in c.datasets = try readDatasets(n, r, &c.diagnostics) },
        "dataset_prepared_path": { c, n, r in c.datasetPreparedPath = try r.string(n, "dataset_prepared_path") },
        "val_set_size": { c, n, r in
            c.valSetSize = try r.double(n, "val_set_size")
            if c.valSetSize < 0 { throw r.error("val_set_size", n, "must be ≥ 0 (a fraction ≤ 1 or a row count)") }
        },
        "sequence_len": { c, n, r in
            c.sequenceLen = try r.int(n, "sequence_len")
            if c.sequenceLen < 2 { throw r.error("sequence_len", n, "must be at least 2") }
        },
        "sample_packing": { c, n, r in c.samplePacking = try r.bool(n, "sample_packing") },
        "eval_sample_packing": { c, n, r in c.evalSamplePacking = try r.bool(n, "eval_sample_packing") },
        "pad_to_sequence_len": { c, n, r in c.padToSequenceLen = try r.bool(n, "pad_to_sequence_len") },
        "train_on_inputs": { c, n, r in c.trainOnInputs = try r.bool(n, "train_on_inputs") },
        "special_tokens": { c, n, r in
            c.specialTokens = try r.stringMap(n, "special_tokens")
            let known: Set = ["bos_token", "eos_token", "pad_token", "unk_token"]
            if let bad = c.specialTokens.keys.sorted().first(where: { !known.contains($0) }) {
                throw r.error("special_tokens", n, "unknown entry `\(bad)`; use bos_token, eos_token, pad_token or unk_token")
            }
        },
        "tokens": { c, n, r in c.tokens = try r.stringList(n, "tokens") },
        "chat_template": { c, n, r in c.chatTemplate = try r.string(n, "chat_template") },
        "eot_tokens": { c, n, r in c.eotTokens = try r.stringList(n, "eot_tokens") },
        "chat_template_jinja": { _, n, r in
            throw r.error("chat_template_jinja", n, "flow renders its built-in templates in Swift and has no Jinja engine; set chat_template to one of \(AxolotlChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
        },
        "seed": { c, n, r in c.seed = try r.int(n, "seed") },
        "excess_length_strategy": { c, n, r in
            let s = try r.string(n, "excess_length_strategy")
            guard let v = ExcessLengthStrategy(rawValue: s) else {
                throw r.error("excess_length_strategy", n, "`\(s)` is not one of drop, truncate, raise")
            }
            c.excessLengthStrategy = v
        },
        "min_sample_len": { c, n, r in c.minSampleLen = try r.int(n, "min_sample_len") },
        "shuffle_merged_datasets": { c, n, r in c.shuffleMergedDatasets = try r.bool(n, "shuffle_merged_datasets") },
        "adapter": { c, n, r in c.adapter = try r.string(n, "adapter") },
        "lora_r": { c, n, r in c.loraR = try r.int(n, "lora_r") },
        "lora_alpha": { c, n, r in c.loraAlpha = try r.double(n, "lora_alpha") },
        "lora_dropout": { c, n, r in c.loraDropout = try r.double(n, "lora_dropout") },
        "lora_target_modules": { c, n, r in c.loraTargetModules = try r.stringList(n, "lora_target_modules") },
        "lora_target_linear": { c, n, r in c.loraTargetLinear = try r.bool(n, "lora_target_linear") },
        "lora_modules_to_save": { c, n, r in c.loraModulesToSave = try r.stringList(n, "lora_modules_to_save") },
        "lora_fan_in_fan_out": { c, n, r in c.loraFanInFanOut = try r.bool(n, "lora_fan_in_fan_out") },
        "peft_use_rslora": { c, n, r in c.peftUseRSLoRA = try r.bool(n, "peft_use_rslora") },
        "lora_model_dir": { c, n, r in c.loraModelDir = try r.string(n, "lora_model_dir") },
        "micro_batch_size": { c, n, r in c.microBatchSize = try positive(n, "micro_batch_size", r) },
        "eval_batch_size": { c, n, r in c.evalBatchSize = try positive(n, "eval_batch_size", r) },
        "gradient_accumulation_steps": { c, n, r in c.gradientAccumulationSteps = try positive(n, "gradient_accumulation_steps", r) },
        "num_epochs": { c, n, r in c.numEpochs = try r.double(n, "num_epochs") },
        "max_steps": { c, n, r in c.maxSteps = try r.int(n, "max_steps") },
        "learning_rate": { c, n, r in c.learningRate = try r.double(n, "learning_rate") },
        "lr_scheduler": { c, n, r in c.lrScheduler = try r.string(n, "lr_scheduler") },
        "warmup_steps": { c, n, r in c.warmupSteps = try r.int(n, "warmup_steps") },
        "warmup_ratio": { c, n, r in c.warmupRatio = try r.double(n, "warmup_ratio") },
        "optimizer": { c, n, r in c.optimizer = try r.string(n, "optimizer") },
        "weight_decay": { c, n, r in c.weightDecay = try r.double(n, "weight_decay") },
        "max_grad_norm": { c, n, r in c.maxGradNorm = try r.double(n, "max_grad_norm") },
        "adam_beta1": { c, n, r in c.adamBeta1 = try r.double(n, "adam_beta1") },
        "adam_beta2": { c, n, r in c.adamBeta2 = try r.double(n, "adam_beta2") },
        "adam_epsilon": { c, n, r in c.adamEpsilon = try r.double(n, "adam_epsilon") },
        "output_dir": { c, n, r in c.outputDir = try r.string(n, "output_dir") },
        "eval_steps": { c, n, r in c.evalSteps = try r.double(n, "eval_steps") },
        "evals_per_epoch": { c, n, r in c.evalsPerEpoch = try r.int(n, "evals_per_epoch") },
        "save_steps": { c, n, r in c.saveSteps = try r.double(n, "save_steps") },
        "saves_per_epoch": { c, n, r in c.savesPerEpoch = try r.int(n, "saves_per_epoch") },
        "logging_steps": { c, n, r in c.loggingSteps = try r.int(n, "logging_steps") },
    ]

    /// Axolotl keys flow accepts and does not use: GPU/runtime-only (precision, attention kernels,
    /// quantisation, distributed training, logging services, hub uploads, checkpoint policy).
    public static let ignoredKeyNames: Set<String> = [
        "strict", "load_in_8bit", "load_in_4bit", "bf16", "fp16", "tf32", "bfloat16", "float16",
        "flash_attention", "xformers_attention", "sdp_attention", "s2_attention", "flash_attn_cross_entropy",
        "flash_attn_rms_norm", "flash_attn_fuse_qkv", "flash_attn_fuse_mlp", "gradient_checkpointing",
        "gradient_checkpointing_kwargs", "deepspeed", "fsdp", "fsdp_config", "fsdp_version", "local_rank",
        "ddp_timeout", "ddp_bucket_cap_mb", "ddp_broadcast_buffers", "wandb_project", "wandb_entity",
        "wandb_watch", "wandb_name", "wandb_run_id", "wandb_log_model", "wandb_mode", "mlflow_tracking_uri",
        "mlflow_experiment_name", "use_tensorboard", "comet_api_key", "comet_project_name", "hub_model_id",
        "hub_strategy", "push_dataset_to_hub", "hf_use_auth_token", "group_by_length", "early_stopping_patience",
        "resume_from_checkpoint", "auto_resume_from_checkpoints", "save_strategy", "save_total_limit",
        "save_safetensors", "save_only_model", "debug", "torch_compile", "torch_compile_backend",
        "torchdistx_path", "device_map", "max_memory", "gpu_memory_limit", "low_cpu_mem_usage", "bnb_config_kwargs",
        "dataloader_num_workers", "dataloader_pin_memory", "dataloader_prefetch_factor", "dataset_processes",
        "dataset_num_proc", "dataset_keep_in_memory", "trust_remote_code", "model_type", "is_llama_derived_model",
        "is_mistral_derived_model", "is_falcon_derived_model", "is_qwen_derived_model", "special_tokens_to_add",
        "unfrozen_parameters", "eval_table_size", "eval_max_new_tokens", "eval_causal_lm_metrics",
        "do_causal_lm_eval", "loss_watchdog_threshold", "loss_watchdog_patience", "plugins", "liger_kernel",
        "liger_rope", "liger_rms_norm", "liger_glu_activation", "liger_layer_norm", "liger_fused_linear_cross_entropy",
        "cut_cross_entropy", "sample_packing_eff_est", "total_num_tokens", "sample_packing_group_size",
        "sample_packing_bin_size", "pretraining_dataset", "noisy_embedding_alpha", "neftune_noise_alpha",
        "use_reentrant", "ddp_find_unused_parameters", "seed_everything", "tokenizer_use_fast", "tokenizer_legacy",
        "resize_token_embeddings_to_32x", "gptq", "gptq_groupsize", "gptq_model_v1", "merge_lora", "lora_on_cpu",
        "test_datasets", "eval_strategy", "evaluation_strategy", "include_tokens_per_second", "profiler_steps",
    ]

    static let knownKeyNames: [String] = (Array(keySetters.keys) + Array(ignoredKeyNames)).sorted()

    /// The known key nearest to `key`, when within two edits.
    static func suggestion(for key: String) -> String? {
        var best: (String, Int)? = nil
        for known in knownKeyNames {
            let d = AxolotlConfig.editDistance(key, known)
            if d <= 2, d < (best?.1 ?? Int.max) { best = (known, d) }
        }
        return best?.0
    }

    private static func positive(_ n: Node, _ key: String, _ r: AxolotlConfigNodeReader) throws -> Int {
        let v = try r.int(n, key)
        if v < 1 { throw r.error(key, n, "must be at least 1") }
        return v
    }
}
