import Foundation

/// One request's state over a shared `GenerationModel`: the key/value cache and every scratch buffer, allocated
/// up front so decoding allocates nothing per token. Sessions are independent, so several run concurrently
/// (one thread each) over the same model; a single session is not thread-safe.
public final class GenerationSession {
    /// The model this session runs.
    public let model: GenerationModel
    /// The most tokens (prompt plus generated) the cache holds.
    public let capacity: Int
    /// Tokens in the cache so far (the next token's position).
    public internal(set) var count = 0
    /// The logits [vocab] for the token after the last one appended.
    public let logits: Tensor

    let keys: [Tensor]    // per layer [capacity, Hkv*hd], rotated
    let values: [Tensor]  // per layer [capacity, Hkv*hd]
    let scores: Tensor    // [Hq, capacity] attention scores, one row per query head
    let rope: LlamaRoPETable
    var positions: [Int32] = []
    private var single: [Int32] = [0]  // reused by append(token:) so decoding allocates no array per token
    var rows = 0
    var x = Tensor(zeros: [0]), normed = Tensor(zeros: [0]), qkv = Tensor(zeros: [0]), attention = Tensor(zeros: [0])
    var projected = Tensor(zeros: [0]), gateUp = Tensor(zeros: [0]), hidden = Tensor(zeros: [0])
    var loraScratch = Tensor(zeros: [0])

    /// A session whose cache holds `capacity` tokens.
    public init(model: GenerationModel, capacity: Int) {
        let c = model.config
        self.model = model
        let capacity = max(1, capacity)
        self.capacity = capacity
        keys = (0..<c.numHiddenLayers).map { _ in Tensor(zeros: [capacity, c.keyValueWidth]) }
        values = (0..<c.numHiddenLayers).map { _ in Tensor(zeros: [capacity, c.keyValueWidth]) }
        scores = Tensor(zeros: [c.numAttentionHeads, capacity])
        logits = Tensor(zeros: [c.vocabSize])
        rope = LlamaRoPETable(config: c)
        rope.ensure(positions: capacity)
        positions.reserveCapacity(capacity)
        reserveRows(1)
    }

    /// Forgets the cached tokens so the session can serve another request.
    public func reset() { count = 0 }

    /// Runs `tokens` through the model in one batched pass (a prompt's prefill, or one decoded token),
    /// appending their keys and values to the cache; afterwards `logits` scores the next token.
    /// OpenBLAS is held at one thread meanwhile (the model splits its own work); that setting is process-wide, so
    /// concurrent sessions may briefly see it restored, which changes speed, never results.
    public func append(_ tokens: [Int32]) throws {
        guard !tokens.isEmpty else { throw GenerationError("append: no tokens given; a prompt needs at least one token") }
        guard count + tokens.count <= capacity else {
            throw GenerationError("the session holds \(capacity) tokens and already has \(count); \(tokens.count) more do not fit (lower max_tokens or shorten the prompt)")
        }
        let vocab = model.config.vocabSize
        for (i, t) in tokens.enumerated() where t < 0 || Int(t) >= vocab {
            throw GenerationError("token id \(t) at position \(i) is outside the vocabulary (vocab_size \(vocab)); does the tokenizer match the model?")
        }
        model.threads.withSingleThreadedBLAS { forward(tokens) }
    }

    /// Runs one decoded token (the same as `append([token])`, without allocating).
    public func append(token: Int32) throws {
        single[0] = token
        try append(single)
    }

    /// Makes the per-row scratch hold `n` rows (grows once, at prefill).
    func reserveRows(_ n: Int) {
        guard n > rows else { return }
        let c = model.config
        let d = c.hiddenSize, f = c.queryWidth + 2 * c.keyValueWidth
        x = Tensor(zeros: [n, d])
        normed = Tensor(zeros: [n, max(d, c.intermediateSize)])
        qkv = Tensor(zeros: [n, f])
        attention = Tensor(zeros: [n, c.queryWidth])
        projected = Tensor(zeros: [n, d])
        gateUp = Tensor(zeros: [n, 2 * c.intermediateSize])
        hidden = Tensor(zeros: [n, c.intermediateSize])
        loraScratch = Tensor(zeros: [n, max(model.adapterRank, 1)])
        rows = n
    }
}
