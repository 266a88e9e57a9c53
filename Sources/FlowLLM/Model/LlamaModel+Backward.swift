extension LlamaModel {
    /// Back-propagates the loss of the last `forward` and *adds* into the gradients (adapter pairs and saved
    /// modules, or every base weight when fine-tuning fully). The logits buffer becomes dlogits.
    /// - Parameter lossScale: dLoss/d(per-position loss); default 1 / scored positions, i.e. the mean loss.
    ///   A training loop accumulating micro-batches passes 1 / (scored positions of the whole step).
    public func backward(lossScale: Float? = nil) throws {
        guard let batch = lastBatch, let acts = activations else {
            throw LlamaModelError("backward called without a preceding forward(batch, training: true)")
        }
        threads.withSingleThreadedBLAS { run(batch: batch, acts: acts, lossScale: lossScale) }
        lastBatch = nil  // the logits are consumed; a second backward would be wrong
    }

    private func run(batch: LlamaBatch, acts: LlamaActivations, lossScale: Float?) {
        let c = config, n = acts.n, d = c.hiddenSize, t = threads
        let qw = c.queryWidth, kvw = c.keyValueWidth, f = qw + 2 * kvw, i = c.intermediateSize
        let scale = lossScale ?? (lastLossCount > 0 ? 1 / Float(lastLossCount) : 0)
        let shape = attentionShape
        acts.dProbs = LlamaActivations.atLeast(acts.dProbs, LlamaOps.attentionWork(samples: batch.samples, shape: shape).scratch)
        if let adapter {
            acts.dLoRAProjected = LlamaActivations.atLeast(acts.dLoRAProjected, n * adapter.config.rank)
            if adapter.config.dropout > 0 {
                acts.dLoRAInput = LlamaActivations.atLeast(acts.dLoRAInput, n * max(d, i, qw))
            }
        }

        // loss → dlogits (in place) → lm_head → final RMSNorm
        lastTargets.withUnsafeBufferPointer { targetIDs in
            LlamaOps.crossEntropyBackward(logits: acts.logits.data, targets: targetIDs.baseAddress!, scale: scale, n: n,
                                          vocab: c.vocabSize, threads: t)
        }
        let dOutputProjection = gradients.map { $0.lmHead ?? $0.embedTokens } ?? adapterGradients?.savedModule(.lmHead)
        LlamaOps.linearBackward(dx: acts.dNormed.data, accumulate: false, dweight: dOutputProjection?.data,
                                dout: acts.logits.data, x: acts.finalNormed.data, weight: weights.lmHeadWeight(with: adapter).data,
                                n: n, inFeatures: d, outFeatures: c.vocabSize, threads: t)
        acts.dResidual.zero()
        LlamaOps.rmsNormBackward(dx: acts.dResidual.data, dweight: gradients?.norm.data, dout: acts.dNormed.data,
                                 x: acts.finalInput.data, weight: weights.norm.data, rstd: acts.finalRstd.data, n: n, d: d, threads: t)

        for l in stride(from: c.numHiddenLayers - 1, through: 0, by: -1) {
            let a = acts.layers[l], layer = weights.layers[l], g = gradients?.layers[l]
            // MLP block; dResidual is the gradient of the block's output and flows on unchanged through the skip.
            LlamaOps.linearBackward(dx: acts.dHidden.data, accumulate: false, dweight: g?.down.data, dout: acts.dResidual.data,
                                    x: a.hidden.data, weight: layer.down.data, n: n, inFeatures: i, outFeatures: d, threads: t)
            loraBackward(.down, layer: l, dout: acts.dResidual.data, doutStride: d, x: a.hidden, dx: acts.dHidden)
            LlamaOps.swigluBackward(dgate: acts.dGateUp.data, dup: acts.dGateUp.data + i, dh: acts.dHidden.data,
                                    gate: a.gateUp.data, up: a.gateUp.data + i, n: n, width: i, stride: 2 * i, threads: t)
            LlamaOps.linearBackward(dx: acts.dNormed.data, accumulate: false, dweight: g?.gateUp.data, dout: acts.dGateUp.data,
                                    x: a.mlpNormed.data, weight: layer.gateUp.data, n: n, inFeatures: d, outFeatures: 2 * i,
                                    threads: t)
            loraBackward(.gate, layer: l, dout: acts.dGateUp.data, doutStride: 2 * i, x: a.mlpNormed, dx: acts.dNormed)
            loraBackward(.up, layer: l, dout: acts.dGateUp.data + i, doutStride: 2 * i, x: a.mlpNormed, dx: acts.dNormed)
            LlamaOps.rmsNormBackward(dx: acts.dResidual.data, dweight: g?.mlpNorm.data, dout: acts.dNormed.data,
                                     x: a.middle.data, weight: layer.mlpNorm.data, rstd: a.mlpRstd.data, n: n, d: d, threads: t)
            // attention block
            LlamaOps.linearBackward(dx: acts.dAttention.data, accumulate: false, dweight: g?.o.data, dout: acts.dResidual.data,
                                    x: a.attention.data, weight: layer.o.data, n: n, inFeatures: qw, outFeatures: d, threads: t)
            loraBackward(.o, layer: l, dout: acts.dResidual.data, doutStride: d, x: a.attention, dx: acts.dAttention)
            let dqkv = acts.dQKV.data, qkv = a.qkv.data
            LlamaOps.attentionBackward(dq: dqkv, dk: dqkv + qw, dv: dqkv + qw + kvw, dout: acts.dAttention.data,
                                       probs: a.probs.data, q: qkv, k: qkv + qw, v: qkv + qw + kvw,
                                       scratch: acts.dProbs.data, samples: batch.samples, shape: shape, threads: t)
            batch.positions.withUnsafeBufferPointer { pos in
                LlamaOps.ropeBackward(dqkv, rowStride: f, positions: pos.baseAddress!, cos: rope.cos, sin: rope.sin, n: n,
                                      heads: c.numAttentionHeads, headDim: c.headDim)
                LlamaOps.ropeBackward(dqkv + qw, rowStride: f, positions: pos.baseAddress!, cos: rope.cos, sin: rope.sin, n: n,
                                      heads: c.numKeyValueHeads, headDim: c.headDim)
            }
            LlamaOps.linearBackward(dx: acts.dNormed.data, accumulate: false, dweight: g?.qkv.data, dout: dqkv,
                                    x: a.attentionNormed.data, weight: layer.qkv.data, n: n, inFeatures: d, outFeatures: f,
                                    threads: t)
            for (p, offset) in [(LlamaProjection.q, 0), (.k, qw), (.v, qw + kvw)] {
                loraBackward(p, layer: l, dout: dqkv + offset, doutStride: f, x: a.attentionNormed, dx: acts.dNormed)
            }
            LlamaOps.rmsNormBackward(dx: acts.dResidual.data, dweight: g?.attentionNorm.data, dout: acts.dNormed.data,
                                     x: a.input.data, weight: layer.attentionNorm.data, rstd: a.attentionRstd.data, n: n, d: d,
                                     threads: t)
        }
        if let dEmbedding = gradients?.embedTokens ?? adapterGradients?.savedModule(.embedTokens) {
            batch.tokens.withUnsafeBufferPointer { tokens in
                LlamaOps.embeddingBackward(dtable: dEmbedding.data, dout: acts.dResidual.data,
                                           tokens: tokens.baseAddress!, n: n, d: d)
            }
        }
    }

    /// Backward of `addLoRA`: dB += scaling · doutᵀ·(x·Aᵀ), dA += (scaling · dout·B)ᵀ·x, dx += (scaling · dout·B)·A.
    /// dout [N, out] with rows `doutStride` apart, x [N, in], dx [N, in] (holding the base product's dx already)
    func loraBackward(_ p: LlamaProjection, layer l: Int, dout: UnsafePointer<Float>, doutStride: Int, x: Tensor, dx: Tensor) {
        guard let adapter, let pair = adapter.pair(layer: l, p), let grad = adapterGradients?.pair(layer: l, p) else { return }
        let acts = activations!, n = acts.n
        let (outFeatures, inFeatures) = p.shape(config)
        let a = acts.layers[l], slot = LoRAAdapter.slot(p), r = adapter.config.rank, scaling = adapter.config.scaling
        let projected = a.loraProjected[slot]!, dProjected = acts.dLoRAProjected
        let mask = a.loraMask[slot]
        let input = mask == nil ? x : a.loraDroppedInput[slot]!
        // dB [out, r] += scaling · doutᵀ · projected
        GEMM.sgemm(threads: threads, transA: true, m: outFeatures, n: r, k: n, alpha: scaling, a: dout, lda: doutStride,
                   b: projected.data, ldb: r, beta: 1, c: grad.b.data, ldc: r)
        // dProjected [N, r] = scaling · dout · B
        GEMM.sgemm(threads: threads, m: n, n: r, k: outFeatures, alpha: scaling, a: dout, lda: doutStride, b: pair.b.data, ldb: r,
                   c: dProjected.data, ldc: r)
        // dA [r, in] += dProjectedᵀ · input
        GEMM.sgemm(threads: threads, transA: true, m: r, n: inFeatures, k: n, a: dProjected.data, lda: r, b: input.data,
                   ldb: inFeatures, beta: 1, c: grad.a.data, ldc: inFeatures)
        // dx [N, in] += dProjected · A (through the dropout mask when there is one)
        if let mask {
            let dInput = acts.dLoRAInput
            GEMM.sgemm(threads: threads, m: n, n: inFeatures, k: r, a: dProjected.data, lda: r, b: pair.a.data, ldb: inFeatures,
                       c: dInput.data, ldc: inFeatures)
            for i in 0..<(n * inFeatures) { dx.data[i] += dInput.data[i] * mask.data[i] }
        } else {
            GEMM.sgemm(threads: threads, m: n, n: inFeatures, k: r, a: dProjected.data, lda: r, b: pair.a.data, ldb: inFeatures,
                       beta: 1, c: dx.data, ldc: inFeatures)
        }
    }
}
