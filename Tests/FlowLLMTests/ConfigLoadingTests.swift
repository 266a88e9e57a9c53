import Foundation
import Testing
import FlowLLM

private let sharedConfigs = ["codellama.yml", "mistral-memorize.yml", "mistral.yml", "pythia.yml"]

@Test(arguments: sharedConfigs)
func everySharedAxolotlConfigLoads(name: String) throws {
    let config = try AxolotlConfig.load(from: DataTests.sharedFile("axolotl-configs/\(name)"))
    #expect(config.sequenceLen == 4096)
    #expect(config.adapter == "lora")
    #expect(config.loraR == 16 && config.loraAlpha == 32)
    #expect(config.tokens == ["[INST]", " [/INST]", "[SQL]", " [/SQL]"])
    #expect(config.diagnostics.isEmpty, "unexpected keys: \(config.diagnostics)")
    #expect(config.ignoredKeys.contains("bf16") && config.ignoredKeys.contains("gradient_checkpointing"))
    guard case .userDefined(let f) = try #require(config.datasets.first).type else {
        Issue.record("expected a user-defined type"); return
    }
    #expect(f.fieldInstruction == "question" && f.fieldInput == "context" && f.fieldOutput == "answer")
    #expect(f.format == "[INST] Using the schema context below, generate a SQL query that answers the question.\n{input}\n{instruction} [/INST]")
    #expect(f.noInputFormat == "{instruction} ")
}

@Test func sharedConfigValuesAndDefaults() throws {
    let c = try AxolotlConfig.load(from: DataTests.sharedFile("axolotl-configs/codellama.yml"))
    #expect(c.baseModel == "codellama/CodeLlama-7b-Instruct-hf")
    #expect(c.valSetSize == 0.05 && c.microBatchSize == 32 && c.numEpochs == 4 && c.learningRate == 0.0001)
    #expect(c.loraDropout == 0.05 && c.loraTargetLinear && c.warmupSteps == 10 && c.evalSteps == 0.05)
    #expect(c.loraModulesToSave == ["embed_tokens", "lm_head"])
    #expect(c.seed == 42 && c.trainOnInputs == false && c.outputDir == "./lora-out")
    #expect(c.ignoredKeys.contains("deepspeed") && c.ignoredKeys.contains("flash_attention"))
    #expect(c.ignoredKeys.contains("local_rank"))  // null-valued, still listed once
    #expect(Set(c.ignoredKeys).count == c.ignoredKeys.count)
    let m = try AxolotlConfig.load(from: DataTests.sharedFile("axolotl-configs/mistral-memorize.yml"))
    #expect(m.seed == 117 && m.valSetSize == 0.5 && m.specialTokens == ["bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"])
    #expect(m.loraDropout == 0 && m.numEpochs == 50 && m.loggingSteps == 10)
}

@Test func emptyConfigHasAxolotlDefaults() throws {
    let c = try AxolotlConfig.parse(yaml: "base_model: x\n")
    #expect(c.valSetSize == 0 && c.sequenceLen == 512 && !c.samplePacking && c.loraDropout == 0)
    #expect(c.microBatchSize == 1 && c.gradientAccumulationSteps == 1 && c.numEpochs == 1 && c.lrScheduler == "cosine")
    #expect(c.weightDecay == 0 && c.seed == 42 && !c.trainOnInputs && c.outputDir == "./model-out")
    #expect(c.datasetPreparedPath == "last_run_prepared" && c.excessLengthStrategy == .drop)
    #expect(c.resolvedWarmupSteps(totalSteps: 1000) == 30)
    #expect(c.resolvedWarmupSteps(totalSteps: 10_000) == 100)
    var r = c; r.warmupRatio = 0.1
    #expect(r.resolvedWarmupSteps(totalSteps: 1000) == 100)
    let fields = c.resolvedFields()
    #expect(fields["sequence_len"] == "512" && fields["lr_scheduler"] == "cosine" && fields["max_steps"] == "unset")
    #expect(fields["pad_to_sequence_len"] == "false")
}

@Test func loraScalingFollowsPEFT() throws {
    var c = try AxolotlConfig.parse(yaml: "lora_r: 16\nlora_alpha: 32\n")
    #expect(c.loraScaling == 2)
    c.peftUseRSLoRA = true
    #expect(c.loraScaling == 8)
}

@Test func misspeltKeyGetsASuggestionAndUnknownKeysAreListed() throws {
    let c = try AxolotlConfig.parse(yaml: "lora_alpah: 32\nlearning_rat: 0.1\nfrobnicate: 1\n", file: "t.yml")
    #expect(c.diagnostics.map(\.description) == [
        "line 1: unknown key `lora_alpah`; did you mean `lora_alpha`?",
        "line 2: unknown key `learning_rat`; did you mean `learning_rate`?",
        "line 3: unknown key `frobnicate`; flow ignores it",
    ])
}

@Test func typeErrorsNameFileLineAndKey() throws {
    let error = #expect(throws: AxolotlConfigError.self) {
        try AxolotlConfig.parse(yaml: "base_model: x\n\nsequence_len: lots\n", file: "t.yml")
    }
    #expect(error?.message == "t.yml:3: `sequence_len`: expected an integer, found `lots`")
    let nested = #expect(throws: AxolotlConfigError.self) {
        try AxolotlConfig.parse(yaml: "datasets:\n  - path: a.jsonl\n    type: alpacka\n", file: "t.yml")
    }
    #expect(nested?.message.hasPrefix("t.yml:3: `datasets[0].type`: unknown dataset type `alpacka`; known types: alpaca, chat_template, completion, input_output, sharegpt") == true)
    let typo = #expect(throws: AxolotlConfigError.self) {
        try AxolotlConfig.parse(yaml: "datasets:\n  - path: a.jsonl\n    feld: text\n", file: "t.yml")
    }
    #expect(typo?.message == "t.yml:3: `datasets[0].feld`: unknown dataset key; did you mean `field`?")
    let yaml = #expect(throws: AxolotlConfigError.self) { try AxolotlConfig.parse(yaml: "a: [1, 2\n", file: "t.yml") }
    #expect(yaml?.message.hasPrefix("t.yml: invalid YAML: line") == true)
}

@Test func overridesAndDataPathReplaceValues() throws {
    let url = DataTests.sharedFile("axolotl-configs/mistral.yml")
    let c = try AxolotlConfig.load(from: url, overrides: ["lora_r=8", "sample_packing=true", "datasets.0.type=completion",
                                                          "learning_rate=2e-4"], dataPath: "/tmp/d.jsonl")
    #expect(c.loraR == 8 && c.samplePacking && c.learningRate == 0.0002)
    #expect(c.datasets[0].type == .named("completion") && c.datasets[0].path == "/tmp/d.jsonl")
    let bad = #expect(throws: AxolotlConfigError.self) { try AxolotlConfig.load(from: url, overrides: ["lora_rr=8"]) }
    #expect(bad?.message == "--set lora_rr: unknown key `lora_rr`; did you mean `lora_r`?")
    let badValue = #expect(throws: AxolotlConfigError.self) { try AxolotlConfig.load(from: url, overrides: ["micro_batch_size=many"]) }
    #expect(badValue?.message == "--set micro_batch_size: expected an integer, found `many`")
    let nested = #expect(throws: AxolotlConfigError.self) { try AxolotlConfig.load(from: url, overrides: ["datasets[0].type.format={x: 1}"]) }
    #expect(nested?.message == "--set datasets.0.type.format: expected a string, found a mapping")
}

@Test func jinjaTemplatesAreRefusedClearly() throws {
    let error = #expect(throws: AxolotlConfigError.self) {
        try AxolotlConfig.parse(yaml: "chat_template_jinja: \"{{ x }}\"\n", file: "t.yml")
    }
    #expect(error?.message.hasPrefix("t.yml:1: `chat_template_jinja`: flow renders its built-in templates in Swift and has no Jinja engine") == true)
}

@Test func everyConfigInTheSharedDirectoryLoadsWithoutUnknownKeys() throws {
    let directory = DataTests.sharedFile("axolotl-configs")
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }
    #expect(names.count >= 4)
    for name in names {
        let config = try AxolotlConfig.load(from: directory.appendingPathComponent(name))
        #expect(config.diagnostics.isEmpty, "\(name): \(config.diagnostics)")
        #expect(!config.datasets.isEmpty)
        let notes = config.notes
        #expect(notes.count == 1 && notes[0].contains("GPU/runtime-only, ignored: ") && notes[0].contains("bf16"))
    }
}
