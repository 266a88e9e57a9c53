/// One low-rank pair: the adapted projection computes x·Wᵀ + scaling · (x·Aᵀ)·Bᵀ.
public final class LoRAPair: Sendable {
    public let a: Tensor  // [r, in]   lora_A.weight
    public let b: Tensor  // [out, r]  lora_B.weight

    /// A pair from existing tensors.
    public init(a: Tensor, b: Tensor) {
        self.a = a
        self.b = b
    }
}

/// The LoRA weights for a Llama model: an optional `LoRAPair` per layer and projection, and the full trained
/// copies of the modules in `config.modulesToSave` (PEFT's `modules_to_save`).
public final class LoRAAdapter: Sendable {
    /// r, alpha, dropout, targets, rsLoRA, modules to save.
    public let config: LoRAConfig
    /// The model the adapter fits.
    public let modelConfig: LlamaConfig
    /// `pairs[layer][projection index in LlamaProjection.allCases]`; nil where the projection is not adapted.
    public let pairs: [[LoRAPair?]]
    /// The trained copy of each module in `config.modulesToSave` ([vocab, hidden]).
    public let savedModules: [LoRASavedModule: Tensor]

    /// An adapter from existing pairs and module copies (one per module of `config.modulesToSave`).
    public init(config: LoRAConfig, modelConfig: LlamaConfig, pairs: [[LoRAPair?]], savedModules: [LoRASavedModule: Tensor] = [:]) {
        precondition(Set(savedModules.keys) == Set(config.modulesToSave), "one saved module tensor per modules_to_save entry")
        self.config = config
        self.modelConfig = modelConfig
        self.pairs = pairs
        self.savedModules = savedModules
    }

    /// The pair adapting `projection` in `layer`, if any.
    public func pair(layer: Int, _ projection: LlamaProjection) -> LoRAPair? {
        pairs[layer][Self.slot(projection)]
    }

    /// The trained copy of `module`, if the adapter saves it.
    public func savedModule(_ module: LoRASavedModule) -> Tensor? { savedModules[module] }

    static func slot(_ projection: LlamaProjection) -> Int {
        LlamaProjection.allCases.firstIndex(of: projection)!
    }

    /// A fresh adapter for `base` initialised as PEFT does: A ~ Kaiming-uniform(a = √5) = U(−1/√in, 1/√in), B = 0,
    /// and each module to save a copy of its base weight (of the embedding table for a tied `lm_head`);
    /// deterministic for a given `seed`.
    public static func initialized(_ config: LoRAConfig, base: LlamaWeights, seed: UInt64) -> LoRAAdapter {
        var random = TensorRandom(seed: seed)
        let modelConfig = base.config
        let pairs = (0..<modelConfig.numHiddenLayers).map { _ in
            LlamaProjection.allCases.map { p -> LoRAPair? in
                guard config.targets.contains(p) else { return nil }
                let s = p.shape(modelConfig)
                let a = Tensor(zeros: [config.rank, s.in])
                let bound = 1 / Float(s.in).squareRoot()
                random.fillUniform(a, low: -bound, high: bound)
                return LoRAPair(a: a, b: Tensor(zeros: [s.out, config.rank]))
            }
        }
        let copies = config.modulesToSave.map { module in
            (module, (module == .embedTokens ? base.embedTokens : base.outputProjection).copy())
        }
        return LoRAAdapter(config: config, modelConfig: modelConfig, pairs: pairs, savedModules: Dictionary(uniqueKeysWithValues: copies))
    }

    /// An all-zero adapter with the same pairs and saved modules as `self` (a gradient accumulator).
    public func zerosLike() -> LoRAAdapter {
        LoRAAdapter(config: config, modelConfig: modelConfig, pairs: pairs.map { layer in
            layer.map { $0.map { LoRAPair(a: Tensor(zeros: $0.a.shape), b: Tensor(zeros: $0.b.shape)) } }
        }, savedModules: savedModules.mapValues { Tensor(zeros: $0.shape) })
    }

    /// The PEFT name prefix of a projection, e.g. `base_model.model.model.layers.0.self_attn.q_proj`.
    public static func peftPrefix(layer: Int, _ projection: LlamaProjection) -> String {
        "base_model.model.model.layers.\(layer).\(projection.modulePath)"
    }

    /// Every tensor with its PEFT name, in the order of PEFT's state dict: the embedding copy
    /// (`base_model.model.model.embed_tokens.weight`), the pairs (`….lora_A.weight`, `….lora_B.weight`) layer by
    /// layer, the `lm_head` copy (`base_model.model.lm_head.weight`).
    public var namedTensors: [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = savedModules[.embedTokens].map { [(LoRASavedModule.embedTokens.peftName, $0)] } ?? []
        for (l, layer) in pairs.enumerated() {
            for (i, pair) in layer.enumerated() {
                guard let pair else { continue }
                let prefix = Self.peftPrefix(layer: l, LlamaProjection.allCases[i])
                out.append((prefix + ".lora_A.weight", pair.a))
                out.append((prefix + ".lora_B.weight", pair.b))
            }
        }
        if let head = savedModules[.lmHead] { out.append((LoRASavedModule.lmHead.peftName, head)) }
        return out
    }
}
