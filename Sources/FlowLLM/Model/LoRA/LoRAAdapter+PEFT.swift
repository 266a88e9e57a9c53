import Foundation

extension LoRAAdapter {
    /// Writes the adapter in PEFT layout: `adapter_config.json` and `adapter_model.safetensors`
    /// (metadata `{"format": "pt"}`), loadable by `PeftModel.from_pretrained`.
    public func savePEFT(to directory: URL, baseModelNameOrPath: String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let targets = config.targets.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        let modulesToSave = config.modulesToSave.isEmpty
            ? "null" : "[" + config.modulesToSave.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + "]"
        let json = """
            {
              "alpha_pattern": {},
              "auto_mapping": null,
              "base_model_name_or_path": \(SafeTensorsWriter.jsonLiteral(baseModelNameOrPath)),
              "bias": "none",
              "fan_in_fan_out": false,
              "inference_mode": true,
              "init_lora_weights": true,
              "layers_pattern": null,
              "layers_to_transform": null,
              "lora_alpha": \(config.alpha),
              "lora_dropout": \(config.dropout),
              "modules_to_save": \(modulesToSave),
              "peft_type": "LORA",
              "r": \(config.rank),
              "rank_pattern": {},
              "revision": null,
              "target_modules": [\(targets)],
              "task_type": "CAUSAL_LM",
              "use_dora": false,
              "use_rslora": \(config.useRSLoRA)
            }

            """
        try Data(json.utf8).write(to: directory.appendingPathComponent("adapter_config.json"), options: .atomic)
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        for (name, tensor) in namedTensors { try writer.add(name, tensor) }
        try writer.write(to: directory.appendingPathComponent("adapter_model.safetensors"))
    }

    /// Reads a PEFT LoRA adapter (`adapter_config.json` + `adapter_model.safetensors`) for a model with
    /// `modelConfig`. Which projections are adapted is read from the tensors present, so `all-linear`,
    /// regex `target_modules` and `layers_to_transform` all load; each module of `modules_to_save` loads from
    /// its saved copy (`base_model.model.model.embed_tokens.weight`, `base_model.model.lm_head.weight`).
    public static func loadPEFT(from directory: URL, modelConfig: LlamaConfig) throws -> LoRAAdapter {
        let configURL = directory.appendingPathComponent("adapter_config.json")
        let path = configURL.path
        guard let data = try? Data(contentsOf: configURL),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw LlamaModelError("\(path): cannot read adapter_config.json as a JSON object; is this a PEFT adapter directory?")
        }
        guard (object["peft_type"] as? String) == "LORA" else {
            throw LlamaModelError("\(path): peft_type is \(object["peft_type"] ?? "missing"); only \"LORA\" adapters load")
        }
        guard let rank = object["r"] as? Int else { throw LlamaModelError("\(path): \"r\" must be an integer") }
        let alpha = (object["lora_alpha"] as? Double) ?? Double(rank)
        for key in ["rank_pattern", "alpha_pattern"] {
            if let pattern = object[key] as? [String: Any], !pattern.isEmpty {
                throw LlamaModelError("\(path): \(key) is not supported; use one r and lora_alpha for every module")
            }
        }
        if (object["use_dora"] as? Bool) == true { throw LlamaModelError("\(path): DoRA adapters (use_dora) are not supported") }
        if (object["fan_in_fan_out"] as? Bool) == true { throw LlamaModelError("\(path): fan_in_fan_out must be false for Llama") }
        if let bias = object["bias"] as? String, bias != "none" { throw LlamaModelError("\(path): bias \"\(bias)\" is not supported; use \"none\"") }

        let file = try SafeTensorsFile(url: directory.appendingPathComponent("adapter_model.safetensors"))
        var targets: [LlamaProjection] = []
        var pairs: [[LoRAPair?]] = Array(repeating: Array(repeating: nil, count: LlamaProjection.allCases.count),
                                         count: modelConfig.numHiddenLayers)
        for l in 0..<modelConfig.numHiddenLayers {
            for p in LlamaProjection.allCases {
                let prefix = peftPrefix(layer: l, p)
                // PEFT strips the adapter name on save; accept `.default.` too, as older files carry it.
                let names = [(prefix + ".lora_A.weight", prefix + ".lora_B.weight"),
                             (prefix + ".lora_A.default.weight", prefix + ".lora_B.default.weight")]
                guard let (aName, bName) = names.first(where: { file.contains($0.0) }) else { continue }
                let s = p.shape(modelConfig)
                let pair = LoRAPair(a: try file.tensor(aName, expectedShape: [rank, s.in]),
                                    b: try file.tensor(bName, expectedShape: [s.out, rank]))
                pairs[l][slot(p)] = pair
                if !targets.contains(p) { targets.append(p) }
            }
        }
        // A module's copy in the file counts even when the config does not list it: PEFT's `ensure_weight_tying`
        // saves the tied lm_head under its own name while listing only the embedding.
        let listed = try LoRASavedModule.parse((object["modules_to_save"] as? [String]) ?? [], source: path)
        let modulesToSave = LoRASavedModule.allCases.filter { listed.contains($0) || file.contains($0.peftName) }
        var savedModules: [LoRASavedModule: Tensor] = [:]
        for module in modulesToSave {
            // PEFT strips the adapter name on save; accept the in-memory `.modules_to_save.default.` name too.
            let names = [module.peftName, "base_model.model.\(module.modulePath).modules_to_save.default.weight"]
            guard let name = names.first(where: file.contains) else {
                throw LlamaModelError("\(file.url.path): adapter_config.json lists \(module.rawValue) in modules_to_save but the file has no \(module.peftName); the adapter is incomplete")
            }
            savedModules[module] = try file.tensor(name, expectedShape: [modelConfig.vocabSize, modelConfig.hiddenSize])
        }
        guard !targets.isEmpty else {
            throw LlamaModelError("\(file.url.path): no lora_A/lora_B tensors named like \(peftPrefix(layer: 0, .q)).lora_A.weight; is the adapter for a Llama model?")
        }
        let config = LoRAConfig(rank: rank, alpha: alpha, dropout: Float((object["lora_dropout"] as? Double) ?? 0),
                                targets: LlamaProjection.allCases.filter(targets.contains),
                                useRSLoRA: (object["use_rslora"] as? Bool) ?? false, modulesToSave: modulesToSave)
        return LoRAAdapter(config: config, modelConfig: modelConfig, pairs: pairs, savedModules: savedModules)
    }
}
