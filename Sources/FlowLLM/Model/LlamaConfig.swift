import Foundation

/// The architecture of a Llama model, read from a Hugging Face `config.json`.
public struct LlamaConfig: Sendable, Equatable, Codable {
    /// `vocab_size`: rows of the embedding and LM head.
    public var vocabSize: Int
    /// `hidden_size` (D): the residual stream's width.
    public var hiddenSize: Int
    /// `intermediate_size` (I): the MLP's inner width.
    public var intermediateSize: Int
    /// `num_hidden_layers`: decoder layers.
    public var numHiddenLayers: Int
    /// `num_attention_heads` (Hq): query heads.
    public var numAttentionHeads: Int
    /// `num_key_value_heads` (Hkv): key/value heads shared by groups of query heads; defaults to Hq.
    public var numKeyValueHeads: Int
    /// Per-head width; Hugging Face defaults it to `hidden_size / num_attention_heads`.
    public var headDim: Int
    /// `rms_norm_eps`, added to the mean square inside RMSNorm.
    public var rmsNormEps: Float
    /// `rope_theta`, the rotary base (`rope_parameters.rope_theta` in transformers 5 files).
    public var ropeTheta: Double
    /// `max_position_embeddings` (informational: rotary tables grow to whatever positions a batch holds).
    public var maxPositionEmbeddings: Int
    /// `tie_word_embeddings`: the LM head reuses the embedding matrix.
    public var tieWordEmbeddings: Bool
    /// Standard deviation of the random normal initialisation (`initializer_range`).
    public var initializerRange: Float
    /// Llama 3 style frequency scaling, when the checkpoint uses it.
    public var ropeScaling: LlamaRoPEScaling?
    /// `bos_token_id` and `eos_token_id`, carried through to a saved config.json.
    public var bosTokenID: Int?
    public var eosTokenID: Int?

    /// A configuration; the defaults follow transformers' `LlamaConfig`.
    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int,
                numAttentionHeads: Int, numKeyValueHeads: Int? = nil, headDim: Int? = nil,
                rmsNormEps: Float = 1e-6, ropeTheta: Double = 10_000, maxPositionEmbeddings: Int = 2048,
                tieWordEmbeddings: Bool = false, initializerRange: Float = 0.02,
                ropeScaling: LlamaRoPEScaling? = nil, bosTokenID: Int? = 1, eosTokenID: Int? = 2) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads ?? numAttentionHeads
        self.headDim = headDim ?? hiddenSize / numAttentionHeads
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        self.initializerRange = initializerRange
        self.ropeScaling = ropeScaling
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
    }

    /// Width of the query projection's output (`num_attention_heads * head_dim`).
    public var queryWidth: Int { numAttentionHeads * headDim }
    /// Width of the key and value projections' outputs (`num_key_value_heads * head_dim`).
    public var keyValueWidth: Int { numKeyValueHeads * headDim }

    private enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim", rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta", maxPositionEmbeddings = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings", initializerRange = "initializer_range"
        case ropeScaling = "rope_scaling", bosTokenID = "bos_token_id", eosTokenID = "eos_token_id"
        case attentionBias = "attention_bias", mlpBias = "mlp_bias", hiddenAct = "hidden_act"
        case modelType = "model_type", architectures, ropeParameters = "rope_parameters"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let heads = try c.decode(Int.self, forKey: .numAttentionHeads)
        let hidden = try c.decode(Int.self, forKey: .hiddenSize)
        self.init(
            vocabSize: try c.decode(Int.self, forKey: .vocabSize), hiddenSize: hidden,
            intermediateSize: try c.decode(Int.self, forKey: .intermediateSize),
            numHiddenLayers: try c.decode(Int.self, forKey: .numHiddenLayers), numAttentionHeads: heads,
            numKeyValueHeads: try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads),
            headDim: try c.decodeIfPresent(Int.self, forKey: .headDim),
            rmsNormEps: try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6,
            // transformers 5 moved rope_theta and rope_scaling into rope_parameters; read both layouts.
            ropeTheta: try c.decodeIfPresent(Double.self, forKey: .ropeTheta)
                ?? c.decodeIfPresent(LlamaRoPEParameters.self, forKey: .ropeParameters)?.ropeTheta ?? 10_000,
            maxPositionEmbeddings: try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048,
            tieWordEmbeddings: try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false,
            initializerRange: try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? 0.02,
            ropeScaling: try c.decodeIfPresent(LlamaRoPEParameters.self, forKey: .ropeScaling)?.scaling()
                ?? c.decodeIfPresent(LlamaRoPEParameters.self, forKey: .ropeParameters)?.scaling(),
            bosTokenID: try? c.decodeIfPresent(Int.self, forKey: .bosTokenID),
            eosTokenID: try? c.decodeIfPresent(Int.self, forKey: .eosTokenID))
        if try c.decodeIfPresent(Bool.self, forKey: .attentionBias) == true
            || c.decodeIfPresent(Bool.self, forKey: .mlpBias) == true {
            throw LlamaModelError("attention_bias / mlp_bias are not supported; set them to false")
        }
        if let act = try c.decodeIfPresent(String.self, forKey: .hiddenAct), act != "silu" {
            throw LlamaModelError("hidden_act \"\(act)\" is not supported; Llama uses \"silu\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(["LlamaForCausalLM"], forKey: .architectures)
        try c.encode("llama", forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encode(headDim, forKey: .headDim)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(initializerRange, forKey: .initializerRange)
        try c.encodeIfPresent(ropeScaling, forKey: .ropeScaling)
        try c.encodeIfPresent(bosTokenID, forKey: .bosTokenID)
        try c.encodeIfPresent(eosTokenID, forKey: .eosTokenID)
        try c.encode(false, forKey: .attentionBias)
        try c.encode(false, forKey: .mlpBias)
        try c.encode("silu", forKey: .hiddenAct)
    }

    /// Reads `config.json` at `url`, checking that the shapes fit together.
    public static func load(from url: URL) throws -> LlamaConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw LlamaModelError("\(url.path): cannot read model config: \(error.localizedDescription)")
        }
        let config: LlamaConfig
        do { config = try JSONDecoder().decode(LlamaConfig.self, from: data) } catch let error as LlamaModelError {
            throw LlamaModelError("\(url.path): \(error.message)")
        } catch {
            throw LlamaModelError("\(url.path): not a Llama config.json: \(error)")
        }
        try config.validate(file: url.path)
        return config
    }

    /// Checks that every size is positive and the heads divide evenly.
    public func validate(file: String = "config") throws {
        let sizes = [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                     ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                     ("num_key_value_heads", numKeyValueHeads), ("head_dim", headDim)]
        for (key, value) in sizes where value <= 0 {
            throw LlamaModelError("\(file): \(key) is \(value); it must be positive")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw LlamaModelError("\(file): num_attention_heads \(numAttentionHeads) is not a multiple of num_key_value_heads \(numKeyValueHeads)")
        }
        guard headDim % 2 == 0 else { throw LlamaModelError("\(file): head_dim \(headDim) must be even for rotary embeddings") }
    }
}

/// Llama 3 frequency scaling (`rope_type: "llama3"` in `rope_scaling` or `rope_parameters`).
public struct LlamaRoPEScaling: Sendable, Equatable, Codable {
    /// `factor`, `low_freq_factor`, `high_freq_factor`, `original_max_position_embeddings` as in transformers.
    public var factor: Double
    public var lowFreqFactor: Double
    public var highFreqFactor: Double
    public var originalMaxPositionEmbeddings: Double

    /// Scaling with the given factors.
    public init(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositionEmbeddings: Double) {
        self.factor = factor
        self.lowFreqFactor = lowFreqFactor
        self.highFreqFactor = highFreqFactor
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
    }

    private enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type", factor, lowFreqFactor = "low_freq_factor"
        case highFreqFactor = "high_freq_factor", originalMaxPositionEmbeddings = "original_max_position_embeddings"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        factor = try c.decode(Double.self, forKey: .factor)
        lowFreqFactor = try c.decode(Double.self, forKey: .lowFreqFactor)
        highFreqFactor = try c.decode(Double.self, forKey: .highFreqFactor)
        originalMaxPositionEmbeddings = try c.decode(Double.self, forKey: .originalMaxPositionEmbeddings)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("llama3", forKey: .ropeType)
        try c.encode(factor, forKey: .factor)
        try c.encode(lowFreqFactor, forKey: .lowFreqFactor)
        try c.encode(highFreqFactor, forKey: .highFreqFactor)
        try c.encode(originalMaxPositionEmbeddings, forKey: .originalMaxPositionEmbeddings)
    }
}

/// `rope_scaling` (transformers 4) or `rope_parameters` (transformers 5) as written in config.json.
private struct LlamaRoPEParameters: Decodable {
    var ropeType: String?
    var type: String?
    var ropeTheta: Double?
    var factor: Double?
    var lowFreqFactor: Double?
    var highFreqFactor: Double?
    var originalMaxPositionEmbeddings: Double?

    private enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type", type, ropeTheta = "rope_theta", factor, lowFreqFactor = "low_freq_factor"
        case highFreqFactor = "high_freq_factor", originalMaxPositionEmbeddings = "original_max_position_embeddings"
    }

    /// The Llama 3 scaling these parameters describe; nil for plain RoPE; unsupported kinds throw.
    func scaling() throws -> LlamaRoPEScaling? {
        let kind = ropeType ?? type ?? "default"
        if kind == "default" { return nil }
        guard kind == "llama3" else {
            throw LlamaModelError("rope type \"\(kind)\" is not supported; only \"default\" and \"llama3\" are")
        }
        guard let factor, let lowFreqFactor, let highFreqFactor, let originalMaxPositionEmbeddings else {
            throw LlamaModelError("llama3 rope scaling needs factor, low_freq_factor, high_freq_factor and original_max_position_embeddings")
        }
        return LlamaRoPEScaling(factor: factor, lowFreqFactor: lowFreqFactor, highFreqFactor: highFreqFactor,
                                originalMaxPositionEmbeddings: originalMaxPositionEmbeddings)
    }
}
