/// A whole module that PEFT trains as a full copy beside the LoRA pairs (`modules_to_save`, Axolotl's
/// `lora_modules_to_save`): the copy starts as the base weight, trains with AdamW and is saved in the adapter.
public enum LoRASavedModule: String, Sendable, CaseIterable, Codable {
    /// The input embeddings, `model.embed_tokens`.
    case embedTokens = "embed_tokens"
    /// The output projection, `lm_head`.
    case lmHead = "lm_head"

    /// The Hugging Face module path, e.g. `model.embed_tokens`.
    public var modulePath: String {
        switch self {
        case .embedTokens: "model.embed_tokens"
        case .lmHead: "lm_head"
        }
    }

    /// The base checkpoint's tensor, e.g. `model.embed_tokens.weight`.
    public var baseName: String { modulePath + ".weight" }

    /// The name PEFT's `save_pretrained` gives the trained copy, e.g. `base_model.model.model.embed_tokens.weight`.
    public var peftName: String { "base_model.model." + baseName }

    /// The module a `modules_to_save` entry names. PEFT wraps every module whose path ends with the entry; on a
    /// Llama model the entries that reach a whole module are its path or a dotted suffix of it (`embed_tokens`,
    /// `model.embed_tokens`, `lm_head`), so those are accepted.
    public static func named(_ entry: String) -> LoRASavedModule? {
        allCases.first { $0.modulePath == entry || $0.modulePath.hasSuffix("." + entry) }
    }

    /// The modules `entries` name, in `allCases` order without repeats.
    /// - Throws: naming `source`, `field` and the entry when one is not a module flow trains as a full copy.
    public static func parse(_ entries: [String], field: String = "modules_to_save", source: String) throws -> [LoRASavedModule] {
        let modules = try entries.map { entry in
            guard let module = named(entry) else {
                throw LlamaModelError("\(source): \(field) names `\(entry)`; flow trains full copies of \(allCases.map(\.rawValue).joined(separator: " and ")) only (as `embed_tokens`, `model.embed_tokens`, `lm_head`)")
            }
            return module
        }
        return allCases.filter(modules.contains)
    }
}

extension LlamaWeights {
    /// The embedding table a model with `adapter` reads: the adapter's trained copy, else the base table.
    public func embeddingTable(with adapter: LoRAAdapter?) -> Tensor {
        adapter?.savedModule(.embedTokens) ?? embedTokens
    }

    /// The output projection a model with `adapter` uses: the adapter's trained `lm_head` copy, else the base one
    /// (the embedding table when tied — PEFT's copy of `embed_tokens` does not feed a tied `lm_head`).
    public func lmHeadWeight(with adapter: LoRAAdapter?) -> Tensor {
        adapter?.savedModule(.lmHead) ?? outputProjection
    }
}
