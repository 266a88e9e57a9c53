import Foundation

/// One request's state over a shared `GenerationModel`: the key/value cache and every scratch buffer. The cache
/// grows by doubling as tokens arrive, up to `capacity` (a request allowed the whole context pays only for what it
/// uses), so a decode step allocates nothing but the occasional doubling. Sessions are independent, so several run
/// concurrently (one thread each) over the same model, or advance together in one pass of a `GenerationBatch`; a
/// single session is not thread-safe.
public final class GenerationSession {
    /// The model this session runs.
    public let model: GenerationModel
    /// The most tokens (prompt plus generated) the cache holds.
    public let capacity: Int
    /// Tokens in the cache so far (the next token's position).
    public internal(set) var count = 0
    /// The logits [vocab] for the token after the last one appended.
    public let logits: Tensor

    private(set) var keys: [Tensor]    // per layer [allocated, Hkv*hd], rotated
    private(set) var values: [Tensor]  // per layer [allocated, Hkv*hd]
    private(set) var scores: Tensor    // [Hq, allocated] attention scores, one row per query head
    /// Token rows the cache has room for now (≤ capacity).
    private(set) var allocated: Int
    let rope: LlamaRoPETable
    let scratch: GenerationScratch

    /// Rows a new cache starts with.
    static let initialRows = 256

    /// A session whose cache holds up to `capacity` tokens.
    public init(model: GenerationModel, capacity: Int) {
        let c = model.config
        self.model = model
        let capacity = max(1, capacity)
        self.capacity = capacity
        let rows = min(capacity, Self.initialRows)
        allocated = rows
        keys = (0..<c.numHiddenLayers).map { _ in Tensor(zeros: [rows, c.keyValueWidth]) }
        values = (0..<c.numHiddenLayers).map { _ in Tensor(zeros: [rows, c.keyValueWidth]) }
        scores = Tensor(zeros: [c.numAttentionHeads, rows])
        logits = Tensor(zeros: [c.vocabSize])
        rope = LlamaRoPETable(config: c)
        rope.ensure(positions: rows)
        scratch = GenerationScratch(model: model)
    }

    /// Makes room for `n` tokens in all (at most `capacity`, which `checkAppending` guards), keeping the cached ones.
    func reserve(_ n: Int) {
        guard n > allocated else { return }
        let c = model.config, kvw = c.keyValueWidth
        let rows = min(capacity, max(n, 2 * allocated))
        func grown(_ old: Tensor) -> Tensor {
            let t = Tensor(zeros: [rows, kvw])
            t.data.update(from: old.data, count: count * kvw)
            return t
        }
        keys = keys.map(grown)
        values = values.map(grown)
        scores = Tensor(zeros: [c.numAttentionHeads, rows])
        rope.ensure(positions: rows)
        allocated = rows
    }

    /// Replaces this session's cache with a copy of `source`'s (same model; `source.count` must fit `capacity`), so a
    /// beam that forks continues from the same tokens without running them again.
    func copyCache(from source: GenerationSession) {
        precondition(source.model === model && source.count <= capacity, "copyCache: a session of another model or too small")
        reserve(source.count)
        let kvw = model.config.keyValueWidth
        for l in keys.indices {
            keys[l].data.update(from: source.keys[l].data, count: source.count * kvw)
            values[l].data.update(from: source.values[l].data, count: source.count * kvw)
        }
        count = source.count
    }

    /// Forgets the cached tokens so the session can serve another request.
    public func reset() { count = 0 }

    /// Runs `tokens` through the model in one batched pass (a prompt's prefill, or one decoded token),
    /// appending their keys and values to the cache; afterwards `logits` scores the next token.
    /// OpenBLAS is held at one thread meanwhile (the model splits its own work); that setting is process-wide, so
    /// concurrent sessions may briefly see it restored, which changes speed, never results.
    public func append(_ tokens: [Int32]) throws {
        try checkAppending(tokens[...])
        let segments = [GenerationSegment(session: self, tokens: tokens[...])]
        model.threads.withSingleThreadedBLAS { model.forward(segments, scratch: scratch) }
    }

    /// Runs one decoded token (the same as `append([token])`).
    public func append(token: Int32) throws {
        try append([token])
    }

    /// Throws unless `tokens` is non-empty, fits in the cache and lies inside the vocabulary.
    func checkAppending(_ tokens: ArraySlice<Int32>) throws {
        guard !tokens.isEmpty else { throw GenerationError("append: no tokens given; a prompt needs at least one token") }
        guard count + tokens.count <= capacity else {
            throw GenerationError("the session holds \(capacity) tokens and already has \(count); \(tokens.count) more do not fit (lower max_tokens or shorten the prompt)")
        }
        let vocab = model.config.vocabSize
        for (i, t) in tokens.enumerated() where t < 0 || Int(t) >= vocab {
            throw GenerationError("token id \(t) at position \(i) is outside the vocabulary (vocab_size \(vocab)); does the tokenizer match the model?")
        }
    }
}
