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

/// The LoRA weights for a Llama model: an optional `LoRAPair` per layer and projection.
public final class LoRAAdapter: Sendable {
    /// r, alpha, dropout, targets, rsLoRA.
    public let config: LoRAConfig
    /// The model the adapter fits.
    public let modelConfig: LlamaConfig
    /// `pairs[layer][projection index in LlamaProjection.allCases]`; nil where the projection is not adapted.
    public let pairs: [[LoRAPair?]]

    /// An adapter from existing pairs.
    public init(config: LoRAConfig, modelConfig: LlamaConfig, pairs: [[LoRAPair?]]) {
        self.config = config
        self.modelConfig = modelConfig
        self.pairs = pairs
    }

    /// The pair adapting `projection` in `layer`, if any.
    public func pair(layer: Int, _ projection: LlamaProjection) -> LoRAPair? {
        pairs[layer][Self.slot(projection)]
    }

    static func slot(_ projection: LlamaProjection) -> Int {
        LlamaProjection.allCases.firstIndex(of: projection)!
    }

    private static func make(_ config: LoRAConfig, _ modelConfig: LlamaConfig,
                             _ pair: (LlamaProjection, _ out: Int, _ in: Int) -> LoRAPair) -> LoRAAdapter {
        let pairs = (0..<modelConfig.numHiddenLayers).map { _ in
            LlamaProjection.allCases.map { p -> LoRAPair? in
                guard config.targets.contains(p) else { return nil }
                let s = p.shape(modelConfig)
                return pair(p, s.out, s.in)
            }
        }
        return LoRAAdapter(config: config, modelConfig: modelConfig, pairs: pairs)
    }

    /// A fresh adapter initialised as PEFT does: A ~ Kaiming-uniform(a = √5) = U(−1/√in, 1/√in), B = 0;
    /// deterministic for a given `seed`.
    public static func initialized(_ config: LoRAConfig, modelConfig: LlamaConfig, seed: UInt64) -> LoRAAdapter {
        var random = TensorRandom(seed: seed)
        return make(config, modelConfig) { _, out, inFeatures in
            let a = Tensor(zeros: [config.rank, inFeatures])
            let bound = 1 / Float(inFeatures).squareRoot()
            random.fillUniform(a, low: -bound, high: bound)
            return LoRAPair(a: a, b: Tensor(zeros: [out, config.rank]))
        }
    }

    /// An all-zero adapter with the same pairs as `self` (a gradient accumulator).
    public func zerosLike() -> LoRAAdapter {
        LoRAAdapter(config: config, modelConfig: modelConfig, pairs: pairs.map { layer in
            layer.map { $0.map { LoRAPair(a: Tensor(zeros: $0.a.shape), b: Tensor(zeros: $0.b.shape)) } }
        })
    }

    /// The PEFT name prefix of a projection, e.g. `base_model.model.model.layers.0.self_attn.q_proj`.
    public static func peftPrefix(layer: Int, _ projection: LlamaProjection) -> String {
        "base_model.model.model.layers.\(layer).\(projection.modulePath)"
    }

    /// Every tensor with its PEFT name (`….lora_A.weight`, `….lora_B.weight`), layer by layer.
    public var namedTensors: [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        for (l, layer) in pairs.enumerated() {
            for (i, pair) in layer.enumerated() {
                guard let pair else { continue }
                let prefix = Self.peftPrefix(layer: l, LlamaProjection.allCases[i])
                out.append((prefix + ".lora_A.weight", pair.a))
                out.append((prefix + ".lora_B.weight", pair.b))
            }
        }
        return out
    }
}
