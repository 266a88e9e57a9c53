import Foundation

/// The weights of one decoder layer, Hugging Face shapes (`[out, in]` for projections).
///
/// q, k and v are views of one fused `qkv` matrix, gate and up of one `gateUp` matrix, so the model computes
/// each group with a single matrix product (and one gradient product) while names and shapes stay Hugging Face's.
public final class LlamaLayerWeights: Sendable {
    public let attentionNorm: Tensor  // [D]                 input_layernorm
    public let q: Tensor              // [Hq*hd, D]          self_attn.q_proj   (rows 0..<Hq*hd of qkv)
    public let k: Tensor              // [Hkv*hd, D]         self_attn.k_proj   (next Hkv*hd rows)
    public let v: Tensor              // [Hkv*hd, D]         self_attn.v_proj   (last Hkv*hd rows)
    public let o: Tensor              // [D, Hq*hd]          self_attn.o_proj
    public let mlpNorm: Tensor        // [D]                 post_attention_layernorm
    public let gate: Tensor           // [I, D]              mlp.gate_proj      (rows 0..<I of gateUp)
    public let up: Tensor             // [I, D]              mlp.up_proj        (rows I..<2I of gateUp)
    public let down: Tensor           // [D, I]              mlp.down_proj
    let qkv: Tensor                   // [Hq*hd + 2*Hkv*hd, D]
    let gateUp: Tensor                // [2I, D]

    /// Builds the layer's weights through `make(name suffix, shape)`, copying the fused groups into place.
    init(config c: LlamaConfig, make: (String, [Int]) throws -> Tensor) rethrows {
        let d = c.hiddenSize, i = c.intermediateSize, qw = c.queryWidth, kvw = c.keyValueWidth
        func fused(_ parts: [(LlamaProjection, Int)], rows: Int) throws -> (Tensor, [Tensor]) {
            let whole = Tensor(zeros: [rows, d])
            var offset = 0
            let views = try parts.map { p, width -> Tensor in
                let view = Tensor(viewing: whole, offset: offset * d, shape: [width, d])
                view.copyValues(from: try make(p.modulePath, [width, d]))
                offset += width
                return view
            }
            return (whole, views)
        }
        attentionNorm = try make("input_layernorm", [d])
        let (qkv, qkvViews) = try fused([(.q, qw), (.k, kvw), (.v, kvw)], rows: qw + 2 * kvw)
        self.qkv = qkv
        q = qkvViews[0]
        k = qkvViews[1]
        v = qkvViews[2]
        o = try make(LlamaProjection.o.modulePath, [d, qw])
        mlpNorm = try make("post_attention_layernorm", [d])
        let (gateUp, gateUpViews) = try fused([(.gate, i), (.up, i)], rows: 2 * i)
        self.gateUp = gateUp
        gate = gateUpViews[0]
        up = gateUpViews[1]
        down = try make(LlamaProjection.down.modulePath, [d, i])
    }

    /// The weight of one linear projection.
    public func projection(_ p: LlamaProjection) -> Tensor {
        switch p {
        case .q: q
        case .k: k
        case .v: v
        case .o: o
        case .gate: gate
        case .up: up
        case .down: down
        }
    }
}

/// The linear projections of a decoder layer, named as Hugging Face and PEFT name them.
public enum LlamaProjection: String, Sendable, CaseIterable, Codable {
    case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj"
    case gate = "gate_proj", up = "up_proj", down = "down_proj"

    /// The module path inside a layer, e.g. `self_attn.q_proj`.
    public var modulePath: String {
        switch self {
        case .q, .k, .v, .o: "self_attn.\(rawValue)"
        case .gate, .up, .down: "mlp.\(rawValue)"
        }
    }

    /// `(out, in)` features of this projection under `config`.
    public func shape(_ config: LlamaConfig) -> (out: Int, in: Int) {
        switch self {
        case .q: (config.queryWidth, config.hiddenSize)
        case .k, .v: (config.keyValueWidth, config.hiddenSize)
        case .o: (config.hiddenSize, config.queryWidth)
        case .gate, .up: (config.intermediateSize, config.hiddenSize)
        case .down: (config.hiddenSize, config.intermediateSize)
        }
    }
}

/// Every weight of a `LlamaForCausalLM`, in F32, named as in Hugging Face checkpoints.
public final class LlamaWeights: Sendable {
    /// The architecture these weights fit.
    public let config: LlamaConfig
    public let embedTokens: Tensor        // [V, D]   model.embed_tokens.weight
    /// The decoder layers, in order.
    public let layers: [LlamaLayerWeights]
    public let norm: Tensor               // [D]      model.norm.weight
    /// `lm_head.weight` [V, D]; nil when tied to `embedTokens`.
    public let lmHead: Tensor?

    /// The output projection actually used (tied or not).
    public var outputProjection: Tensor { lmHead ?? embedTokens }

    /// Builds every weight through `make(name, shape)`, in checkpoint order.
    init(config: LlamaConfig, make: (String, [Int]) throws -> Tensor) rethrows {
        self.config = config
        let d = config.hiddenSize
        embedTokens = try make("model.embed_tokens.weight", [config.vocabSize, d])
        layers = try (0..<config.numHiddenLayers).map { l in
            try LlamaLayerWeights(config: config) { suffix, shape in try make("model.layers.\(l).\(suffix).weight", shape) }
        }
        norm = try make("model.norm.weight", [d])
        lmHead = config.tieWordEmbeddings ? nil : try make("lm_head.weight", [config.vocabSize, d])
    }

    /// All-zero weights (also the shape of a gradient accumulator).
    public static func zeros(_ config: LlamaConfig) -> LlamaWeights {
        LlamaWeights(config: config) { _, shape in Tensor(zeros: shape) }
    }

    /// Fresh weights as transformers initialises them: normal(0, initializer_range) for embeddings and
    /// projections, ones for the norms; deterministic for a given `seed`.
    public static func random(_ config: LlamaConfig, seed: UInt64) -> LlamaWeights {
        var random = TensorRandom(seed: seed)
        return LlamaWeights(config: config) { name, shape in
            let t = Tensor(zeros: shape)
            if name.hasSuffix("norm.weight") {
                t.buffer.update(repeating: 1)
            } else {
                random.fillNormal(t, std: config.initializerRange)
            }
            return t
        }
    }

    /// Reads every weight from `source` (F32, F16 or BF16), checking each shape against `config`.
    /// A tied checkpoint may omit `lm_head.weight`; an untied one must have it.
    public static func load(from source: any SafeTensorsSource, config: LlamaConfig) throws -> LlamaWeights {
        try LlamaWeights(config: config) { name, shape in try source.tensor(name, expectedShape: shape) }
    }

    /// Every tensor with its Hugging Face name, in checkpoint order (`lm_head` only when untied).
    public var namedTensors: [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = [("model.embed_tokens.weight", embedTokens)]
        for (l, layer) in layers.enumerated() {
            let p = "model.layers.\(l)."
            out.append((p + "input_layernorm.weight", layer.attentionNorm))
            for proj in [LlamaProjection.q, .k, .v, .o] { out.append((p + proj.modulePath + ".weight", layer.projection(proj))) }
            out.append((p + "post_attention_layernorm.weight", layer.mlpNorm))
            for proj in [LlamaProjection.gate, .up, .down] { out.append((p + proj.modulePath + ".weight", layer.projection(proj))) }
        }
        out.append(("model.norm.weight", norm))
        if let lmHead { out.append(("lm_head.weight", lmHead)) }
        return out
    }

    /// Writes `config.json` and the weights (as `dtype`, sharded above `maxShardBytes`) into `directory`.
    public func save(to directory: URL, dtype: SafeTensorsDType = .f32, maxShardBytes: Int = 5_000_000_000) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(config).write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        for (name, tensor) in namedTensors { try writer.add(name, tensor, as: dtype) }
        try writer.writeSharded(directory: directory, maxShardBytes: maxShardBytes)
    }
}
