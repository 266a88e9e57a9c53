/// What one decoder layer's forward pass saves for its backward pass. N = rows × length.
final class LlamaLayerActivations {
    let input: Tensor            // [N, D]      residual stream entering the layer
    let attentionRstd: Tensor    // [N]
    let attentionNormed: Tensor  // [N, D]
    let qkv: Tensor              // [N, Hq*hd + 2*Hkv*hd]  q | k | v per row; q and k after RoPE
    var probs: Tensor            // [Hq · Σ L²] attention probabilities, sample by sample
    let attention: Tensor        // [N, Hq*hd]  attention output before o_proj
    let middle: Tensor           // [N, D]      residual stream after attention
    let mlpRstd: Tensor          // [N]
    let mlpNormed: Tensor        // [N, D]
    let gateUp: Tensor           // [N, 2I]     gate | up per row
    let hidden: Tensor           // [N, I]      silu(gate) ⊙ up
    /// Per adapted projection slot: x·Aᵀ [N, r], and with dropout the dropped input and its mask [N, in].
    var loraProjected: [Tensor?]
    var loraDroppedInput: [Tensor?]
    var loraMask: [Tensor?]

    init(n: Int, config c: LlamaConfig) {
        let d = c.hiddenSize, i = c.intermediateSize
        input = Tensor(zeros: [n, d])
        attentionRstd = Tensor(zeros: [n])
        attentionNormed = Tensor(zeros: [n, d])
        qkv = Tensor(zeros: [n, c.queryWidth + 2 * c.keyValueWidth])
        probs = Tensor(zeros: [0])
        attention = Tensor(zeros: [n, c.queryWidth])
        middle = Tensor(zeros: [n, d])
        mlpRstd = Tensor(zeros: [n])
        mlpNormed = Tensor(zeros: [n, d])
        gateUp = Tensor(zeros: [n, 2 * i])
        hidden = Tensor(zeros: [n, i])
        let slots = LlamaProjection.allCases.count
        loraProjected = Array(repeating: nil, count: slots)
        loraDroppedInput = Array(repeating: nil, count: slots)
        loraMask = Array(repeating: nil, count: slots)
    }
}

/// Preallocated buffers for one batch shape: the saved activations of every layer, the logits, and the
/// scratch the backward pass reuses layer after layer. Reused while the token count stays the same.
final class LlamaActivations {
    let n: Int
    let layers: [LlamaLayerActivations]
    let finalInput: Tensor    // [N, D]   the last layer's output
    let finalNormed: Tensor   // [N, D]
    let finalRstd: Tensor     // [N]
    let logits: Tensor        // [N, V]; backward turns it into dlogits in place
    let losses: Tensor        // [N]

    // Backward scratch, shared by all layers.
    let dResidual: Tensor     // [N, D]
    let dNormed: Tensor       // [N, D]
    let dAttention: Tensor    // [N, Hq*hd]
    let dQKV: Tensor          // [N, Hq*hd + 2*Hkv*hd]
    let dGateUp: Tensor       // [N, 2I]
    let dHidden: Tensor       // [N, I]
    var dLoRAProjected = Tensor(zeros: [0])  // [N, r]
    var dLoRAInput = Tensor(zeros: [0])      // [N, max in] for dropout
    var dProbs = Tensor(zeros: [0])          // [max L²]

    init(n: Int, config c: LlamaConfig) {
        self.n = n
        layers = (0..<c.numHiddenLayers).map { _ in LlamaLayerActivations(n: n, config: c) }
        finalInput = Tensor(zeros: [n, c.hiddenSize])
        finalNormed = Tensor(zeros: [n, c.hiddenSize])
        finalRstd = Tensor(zeros: [n])
        logits = Tensor(zeros: [n, c.vocabSize])
        losses = Tensor(zeros: [n])
        dResidual = Tensor(zeros: [n, c.hiddenSize])
        dNormed = Tensor(zeros: [n, c.hiddenSize])
        dAttention = Tensor(zeros: [n, c.queryWidth])
        dQKV = Tensor(zeros: [n, c.queryWidth + 2 * c.keyValueWidth])
        dGateUp = Tensor(zeros: [n, 2 * c.intermediateSize])
        dHidden = Tensor(zeros: [n, c.intermediateSize])
    }

    /// `tensor` if it holds at least `count` floats, else a new one that does (buffers only grow).
    static func atLeast(_ tensor: Tensor?, _ count: Int) -> Tensor {
        if let tensor, tensor.count >= count { return tensor }
        return Tensor(zeros: [count])
    }
}
