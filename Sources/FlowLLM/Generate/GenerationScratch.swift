/// The per-row buffers of one forward pass (one row per token), grown to the most rows a pass has needed.
/// A session owns one for its own prefills and decodes; a `GenerationBatch` owns one for passes over many sessions.
final class GenerationScratch {
    let config: LlamaConfig
    let adapterRank: Int
    private(set) var rows = 0
    private(set) var logitRows = 0
    var x = Tensor(zeros: [0]), normed = Tensor(zeros: [0]), qkv = Tensor(zeros: [0]), attention = Tensor(zeros: [0])
    var projected = Tensor(zeros: [0]), gateUp = Tensor(zeros: [0]), hidden = Tensor(zeros: [0])
    var loraScratch = Tensor(zeros: [0])
    /// [rows, vocab]: the LM head's output when a pass scores more than one session.
    var logits = Tensor(zeros: [0])
    /// Each row's position in its session.
    var positions: [Int32] = []

    init(model: GenerationModel) {
        config = model.config
        adapterRank = model.adapterRank
        reserve(rows: 1)
    }

    /// Makes the row buffers hold `n` rows (grows, never shrinks).
    func reserve(rows n: Int) {
        guard n > rows else { return }
        let c = config
        let d = c.hiddenSize, f = c.queryWidth + 2 * c.keyValueWidth
        x = Tensor(zeros: [n, d])
        normed = Tensor(zeros: [n, max(d, c.intermediateSize)])
        qkv = Tensor(zeros: [n, f])
        attention = Tensor(zeros: [n, c.queryWidth])
        projected = Tensor(zeros: [n, d])
        gateUp = Tensor(zeros: [n, 2 * c.intermediateSize])
        hidden = Tensor(zeros: [n, c.intermediateSize])
        loraScratch = Tensor(zeros: [n, max(adapterRank, 1)])
        positions.reserveCapacity(n)
        rows = n
    }

    /// Makes `logits` hold `n` rows of scores.
    func reserve(logitRows n: Int) {
        guard n > logitRows else { return }
        logits = Tensor(zeros: [n, config.vocabSize])
        logitRows = n
    }
}
