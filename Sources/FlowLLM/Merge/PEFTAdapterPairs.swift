import Foundation

/// A PEFT LoRA adapter directory read for merging: its rank and scaling, for each base tensor it adapts
/// the names of its `lora_A` / `lora_B` tensors, and for each module of `modules_to_save` the trained copy that
/// replaces the base tensor. Names are mapped generically (`base_model.model.<module>.lora_A.weight` and
/// `base_model.model.<module>.weight` → `<module>.weight`), so any linear module merges, not only the Llama
/// projections.
struct PEFTAdapterPairs {
    /// One adapted base tensor.
    struct Pair {
        /// The base tensor, e.g. `model.layers.0.self_attn.q_proj.weight`.
        var baseName: String
        /// `…lora_A.weight`, [r, in].
        var aName: String
        /// `…lora_B.weight`, [out, r].
        var bName: String
    }

    let file: SafeTensorsFile
    let config: LoRAConfig
    /// Keyed by base tensor name.
    let pairs: [String: Pair]
    /// Base tensor name → the adapter tensor holding its trained copy (`modules_to_save`).
    let replacements: [String: String]

    static let keyPrefix = "base_model.model."

    /// Reads `adapter_config.json` and `adapter_model.safetensors` in `directory`.
    init(directory: URL) throws {
        let configURL = directory.appendingPathComponent("adapter_config.json")
        let path = configURL.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoRAMergeError(.adapterConfig, file: path, "cannot read adapter_config.json; pass the directory PEFT's save_pretrained wrote")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw LoRAMergeError(.adapterConfig, file: path, "not a JSON object; is this a PEFT adapter_config.json?")
        }
        guard (object["peft_type"] as? String) == "LORA" else {
            throw LoRAMergeError(.adapterConfig, file: path, "peft_type is \(object["peft_type"] ?? "missing"); only \"LORA\" adapters merge")
        }
        guard let rank = object["r"] as? Int, rank > 0 else {
            throw LoRAMergeError(.adapterConfig, file: path, "\"r\" is \(object["r"] ?? "missing"); it must be a positive integer")
        }
        let alpha = (object["lora_alpha"] as? Double) ?? Double(rank)
        if (object["fan_in_fan_out"] as? Bool) == true {
            throw LoRAMergeError(.adapterConfig, file: path, "fan_in_fan_out is true; only nn.Linear adapters (fan_in_fan_out false) merge")
        }
        if (object["use_dora"] as? Bool) == true {
            throw LoRAMergeError(.adapterConfig, file: path, "use_dora is true; DoRA adapters do not merge as W + scaling·B·A")
        }
        for key in ["rank_pattern", "alpha_pattern"] {
            if let pattern = object[key] as? [String: Any], !pattern.isEmpty {
                throw LoRAMergeError(.adapterConfig, file: path, "\(key) is not supported; retrain with one r and lora_alpha for every module")
            }
        }
        if let bias = object["bias"] as? String, bias != "none" {
            throw LoRAMergeError(.adapterConfig, file: path, "bias \"\(bias)\" is not supported; use \"none\"")
        }
        config = LoRAConfig(rank: rank, alpha: alpha, useRSLoRA: (object["use_rslora"] as? Bool) ?? false)

        let weightsURL = directory.appendingPathComponent("adapter_model.safetensors")
        do { file = try SafeTensorsFile(url: weightsURL) } catch {
            throw LoRAMergeError(.io, file: weightsURL.path, "cannot open the adapter weights: \(error)")
        }
        let modulesToSave = (object["modules_to_save"] as? [String]) ?? []
        (pairs, replacements) = try Self.tensors(in: file, rank: rank, modulesToSave: modulesToSave)
    }

    /// Pairs every `lora_A` with its `lora_B`, checking names, rank and the agreement of their shapes, and maps
    /// every other tensor to the base tensor it replaces when the adapter has `modulesToSave`.
    private static func tensors(in file: SafeTensorsFile, rank: Int, modulesToSave: [String]) throws
        -> (pairs: [String: Pair], replacements: [String: String])
    {
        let path = file.url.path
        var halves: [String: (a: String?, b: String?)] = [:]
        var replacements: [String: String] = [:]
        for name in file.tensorNames {
            guard name.hasPrefix(keyPrefix), let (module, isA) = splitLoRAName(name) else {
                if let base = replacedBaseName(name), !modulesToSave.isEmpty {
                    guard file.info(name)?.dtype.isFloatConvertible ?? false else {
                        throw LoRAMergeError(.adapterTensors, file: path, tensor: name, "dtype \(file.info(name)?.dtype.rawValue ?? "?") is not F32, F16 or BF16")
                    }
                    replacements[base] = name
                    continue
                }
                throw LoRAMergeError(.adapterTensors, file: path, tensor: name,
                                     "neither a lora_A/lora_B weight under \(keyPrefix) nor, with modules_to_save in adapter_config.json, a saved module's `.weight`; embedding LoRA, biases and DoRA magnitudes do not merge here")
            }
            let base = String(module.dropFirst(keyPrefix.count)) + ".weight"
            if isA { halves[base, default: (nil, nil)].a = name } else { halves[base, default: (nil, nil)].b = name }
        }
        guard !halves.isEmpty || !replacements.isEmpty else {
            throw LoRAMergeError(.adapterTensors, file: path, "holds no lora_A/lora_B tensors; is this a LoRA adapter?")
        }
        var result: [String: Pair] = [:]
        for (base, half) in halves {
            guard let aName = half.a, let bName = half.b else {
                throw LoRAMergeError(.adapterTensors, file: path, tensor: half.a ?? half.b,
                                     "has no matching \(half.a == nil ? "lora_A" : "lora_B"); the adapter file is incomplete")
            }
            guard let a = file.info(aName), let b = file.info(bName) else { continue }
            guard a.shape.count == 2, b.shape.count == 2 else {
                throw LoRAMergeError(.adapterTensors, file: path, tensor: a.shape.count == 2 ? bName : aName,
                                     "lora_A must be [r, in] and lora_B [out, r]; got \(a.shape) and \(b.shape)")
            }
            guard a.shape[0] == rank, b.shape[1] == rank else {
                throw LoRAMergeError(.adapterTensors, file: path, tensor: a.shape[0] == rank ? bName : aName,
                                     "rank is \(a.shape[0] == rank ? b.shape[1] : a.shape[0]) but adapter_config.json says r = \(rank); the config and weights come from different adapters")
            }
            for (name, info) in [(aName, a), (bName, b)] where !info.dtype.isFloatConvertible {
                throw LoRAMergeError(.adapterTensors, file: path, tensor: name,
                                     "dtype \(info.dtype.rawValue) is not F32, F16 or BF16")
            }
            result[base] = Pair(baseName: base, aName: aName, bName: bName)
        }
        return (result, replacements)
    }

    /// The base tensor a saved module copy replaces: `base_model.model.<module>.weight` (or PEFT's in-memory
    /// `<module>.modules_to_save.default.weight`) → `<module>.weight`.
    private static func replacedBaseName(_ name: String) -> String? {
        guard name.hasPrefix(keyPrefix), name.hasSuffix(".weight") else { return nil }
        let module = name.dropFirst(keyPrefix.count).dropLast(".weight".count)
        let inMemory = ".modules_to_save.default"
        return (module.hasSuffix(inMemory) ? String(module.dropLast(inMemory.count)) : String(module)) + ".weight"
    }

    /// `(module, isA)` for `<module>.lora_A.weight` / `.lora_B.weight` (also the older `.lora_A.default.weight`).
    private static func splitLoRAName(_ name: String) -> (String, Bool)? {
        for (suffix, isA) in [(".lora_A.weight", true), (".lora_B.weight", false),
                              (".lora_A.default.weight", true), (".lora_B.default.weight", false)]
        where name.hasSuffix(suffix) {
            return (String(name.dropLast(suffix.count)), isA)
        }
        return nil
    }
}
