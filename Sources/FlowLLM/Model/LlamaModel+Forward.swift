/// The loss of one batch: a masked sum over the scored positions, and the same per sample.
public struct LlamaLoss: Sendable {
    /// Σ cross-entropy over positions with a target.
    public var sum: Double
    /// How many positions have a target (label ≠ -100 after the per-sample shift).
    public var count: Int
    /// Per sample of `LlamaBatch.samples`: its loss sum and target count.
    public var perSample: [(sum: Double, count: Int)]
    /// The mean (Hugging Face's loss); 0 when nothing is scored.
    public var mean: Double { count > 0 ? sum / Double(count) : 0 }
}

extension LlamaModel {
    /// Runs the model on `batch`, filling `logits` and returning the loss against the batch's labels.
    /// - Parameter training: applies LoRA dropout (when configured) and keeps what `backward` needs.
    @discardableResult
    public func forward(_ batch: LlamaBatch, training: Bool = false) throws -> LlamaLoss {
        try validate(batch)
        return threads.withSingleThreadedBLAS { run(batch, training: training) }
    }

    private func validate(_ batch: LlamaBatch) throws {
        let c = config
        for (i, t) in batch.tokens.enumerated() where t < 0 || Int(t) >= c.vocabSize {
            throw LlamaModelError("batch: token id \(t) at position \(i) is outside the vocabulary (vocab_size \(c.vocabSize)); does the tokenizer match the model?")
        }
        for (i, t) in batch.labels.enumerated() where t != LlamaBatch.ignoreIndex && (t < 0 || Int(t) >= c.vocabSize) {
            throw LlamaModelError("batch: label \(t) at position \(i) is outside the vocabulary (vocab_size \(c.vocabSize)) and not -100")
        }
        guard batch.positions.allSatisfy({ $0 >= 0 }) else { throw LlamaModelError("batch: positions must be non-negative") }
    }

    private func run(_ batch: LlamaBatch, training: Bool) -> LlamaLoss {
        let c = config, t = threads
        let n = batch.rows * batch.length, d = c.hiddenSize, i = c.intermediateSize
        let qw = c.queryWidth, kvw = c.keyValueWidth, f = qw + 2 * kvw
        rope.ensure(positions: Int(batch.positions.max() ?? 0) + 1)

        if activations?.n != n { activations = LlamaActivations(n: n, config: c) }
        let acts = activations!
        let probCount = LlamaOps.attentionProbabilityCount(samples: batch.samples, heads: c.numAttentionHeads)
        let shape = attentionShape

        batch.tokens.withUnsafeBufferPointer { tokens in
            LlamaOps.embeddingForward(out: acts.layers[0].input.data, tokens: tokens.baseAddress!,
                                      table: weights.embeddingTable(with: adapter).data, n: n, d: d)
        }
        for (l, layer) in weights.layers.enumerated() {
            let a = acts.layers[l]
            a.probs = LlamaActivations.atLeast(a.probs, probCount)
            // attention block: x → RMSNorm → [q | k | v] (one product) → RoPE → attention → o_proj → + x
            LlamaOps.rmsNormForward(out: a.attentionNormed.data, rstd: a.attentionRstd.data, x: a.input.data,
                                    weight: layer.attentionNorm.data, n: n, d: d, eps: c.rmsNormEps, threads: t)
            LlamaOps.linearForward(out: a.qkv.data, x: a.attentionNormed.data, weight: layer.qkv.data,
                                   n: n, inFeatures: d, outFeatures: f, threads: t)
            for (p, offset) in [(LlamaProjection.q, 0), (.k, qw), (.v, qw + kvw)] {
                addLoRA(p, layer: l, x: a.attentionNormed, out: a.qkv.data + offset, outStride: f, training: training)
            }
            batch.positions.withUnsafeBufferPointer { pos in
                LlamaOps.ropeForward(a.qkv.data, rowStride: f, positions: pos.baseAddress!, cos: rope.cos, sin: rope.sin, n: n,
                                     heads: c.numAttentionHeads, headDim: c.headDim)
                LlamaOps.ropeForward(a.qkv.data + qw, rowStride: f, positions: pos.baseAddress!, cos: rope.cos, sin: rope.sin,
                                     n: n, heads: c.numKeyValueHeads, headDim: c.headDim)
            }
            LlamaOps.attentionForward(out: a.attention.data, probs: a.probs.data, q: a.qkv.data, k: a.qkv.data + qw,
                                      v: a.qkv.data + qw + kvw, samples: batch.samples, shape: shape, threads: t)
            LlamaOps.linearForward(out: a.middle.data, x: a.attention.data, weight: layer.o.data,
                                   n: n, inFeatures: qw, outFeatures: d, threads: t)
            addLoRA(.o, layer: l, x: a.attention, out: a.middle.data, outStride: d, training: training)
            LlamaOps.residualForward(out: a.middle.data, a: a.middle.data, b: a.input.data, count: n * d)
            // MLP block: x → RMSNorm → [gate | up] (one product) → silu(gate) ⊙ up → down_proj → + x
            LlamaOps.rmsNormForward(out: a.mlpNormed.data, rstd: a.mlpRstd.data, x: a.middle.data,
                                    weight: layer.mlpNorm.data, n: n, d: d, eps: c.rmsNormEps, threads: t)
            LlamaOps.linearForward(out: a.gateUp.data, x: a.mlpNormed.data, weight: layer.gateUp.data,
                                   n: n, inFeatures: d, outFeatures: 2 * i, threads: t)
            addLoRA(.gate, layer: l, x: a.mlpNormed, out: a.gateUp.data, outStride: 2 * i, training: training)
            addLoRA(.up, layer: l, x: a.mlpNormed, out: a.gateUp.data + i, outStride: 2 * i, training: training)
            LlamaOps.swigluForward(h: a.hidden.data, gate: a.gateUp.data, up: a.gateUp.data + i, n: n, width: i,
                                   stride: 2 * i, threads: t)
            let output = l + 1 < c.numHiddenLayers ? acts.layers[l + 1].input : acts.finalInput
            LlamaOps.linearForward(out: output.data, x: a.hidden.data, weight: layer.down.data,
                                   n: n, inFeatures: i, outFeatures: d, threads: t)
            addLoRA(.down, layer: l, x: a.hidden, out: output.data, outStride: d, training: training)
            LlamaOps.residualForward(out: output.data, a: output.data, b: a.middle.data, count: n * d)
        }
        // final RMSNorm → lm_head
        LlamaOps.rmsNormForward(out: acts.finalNormed.data, rstd: acts.finalRstd.data, x: acts.finalInput.data,
                                weight: weights.norm.data, n: n, d: d, eps: c.rmsNormEps, threads: t)
        LlamaOps.linearForward(out: acts.logits.data, x: acts.finalNormed.data, weight: weights.lmHeadWeight(with: adapter).data,
                               n: n, inFeatures: d, outFeatures: c.vocabSize, threads: t)

        let targets = batch.shiftedTargets
        targets.withUnsafeBufferPointer { targetIDs in
            LlamaOps.crossEntropyForward(losses: acts.losses.data, logits: acts.logits.data, targets: targetIDs.baseAddress!,
                                         n: n, vocab: c.vocabSize, threads: t)
        }
        var loss = LlamaLoss(sum: 0, count: 0, perSample: [])
        for s in batch.samples {
            var sum = 0.0, count = 0
            for i in s where targets[i] != LlamaBatch.ignoreIndex {
                sum += Double(acts.losses.data[i])
                count += 1
            }
            loss.perSample.append((sum, count))
            loss.sum += sum
            loss.count += count
        }
        lastBatch = batch
        lastTargets = targets
        lastLossCount = loss.count
        return loss
    }

    /// q, k and v live in one fused [N, q+k+v] buffer; attention reads them with its row stride.
    var attentionShape: LlamaAttentionShape {
        let f = config.queryWidth + 2 * config.keyValueWidth
        return LlamaAttentionShape(heads: config.numAttentionHeads, keyValueHeads: config.numKeyValueHeads,
                                   headDim: config.headDim, queryStride: f, keyValueStride: f)
    }

    /// out += scaling · (dropout(x)·Aᵀ)·Bᵀ when `p` is adapted in `layer` (the base product is already in out).
    /// x [N, in], out [N, out] with rows `outStride` apart (a column block of a fused output)
    func addLoRA(_ p: LlamaProjection, layer l: Int, x: Tensor, out: UnsafeMutablePointer<Float>, outStride: Int, training: Bool) {
        guard let adapter, let pair = adapter.pair(layer: l, p) else { return }
        let n = x.shape[0]
        let (outFeatures, inFeatures) = p.shape(config)
        let a = activations!.layers[l], slot = LoRAAdapter.slot(p), r = adapter.config.rank
        var input = x
        if training, adapter.config.dropout > 0 {
            let mask = LlamaActivations.atLeast(a.loraMask[slot], n * inFeatures)
            let dropped = LlamaActivations.atLeast(a.loraDroppedInput[slot], n * inFeatures)
            let keep = 1 - adapter.config.dropout
            for i in 0..<(n * inFeatures) {
                mask.data[i] = dropoutRandom.nextUnitFloat() < keep ? 1 / keep : 0
                dropped.data[i] = x.data[i] * mask.data[i]
            }
            a.loraMask[slot] = mask
            a.loraDroppedInput[slot] = dropped
            input = dropped
        } else {
            a.loraMask[slot] = nil
        }
        let projected = LlamaActivations.atLeast(a.loraProjected[slot], n * r)
        a.loraProjected[slot] = projected
        // projected [N, r] = input · Aᵀ;  out += scaling · projected · Bᵀ
        GEMM.sgemm(threads: threads, transB: true, m: n, n: r, k: inFeatures, a: input.data, lda: inFeatures, b: pair.a.data,
                   ldb: inFeatures, c: projected.data, ldc: r)
        GEMM.sgemm(threads: threads, transB: true, m: n, n: outFeatures, k: r, alpha: adapter.config.scaling, a: projected.data,
                   lda: r, b: pair.b.data, ldb: r, beta: 1, c: out, ldc: outStride)
    }
}
