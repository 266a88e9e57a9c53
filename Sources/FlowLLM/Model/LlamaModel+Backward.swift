extension LlamaModel {
    /// Back-propagates the loss of the last `forward` and *adds* into the gradients (adapter pairs, and every
    /// base weight when fine-tuning fully). The logits buffer becomes dlogits.
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
        let scale = lossScale ?? (lastLossCount > 0 ? 1 / Float(lastLossCount) : 0)
        let shape = LlamaAttentionShape(heads: c.numAttentionHeads, keyValueHeads: c.numKeyValueHeads, headDim: c.headDim)
        acts.dProbs = LlamaActivations.atLeast(acts.dProbs, LlamaOps.attentionWork(samples: batch.samples, shape: shape).scratch)
        if let adapter {
            acts.dLoRAProjected = LlamaActivations.atLeast(acts.dLoRAProjected, n * adapter.config.rank)
            if adapter.config.dropout > 0 {
                acts.dLoRAInput = LlamaActivations.atLeast(acts.dLoRAInput, n * max(d, c.intermediateSize, c.queryWidth))
            }
        }

        // loss → dlogits (in place) → lm_head → final RMSNorm
        lastTargets.withUnsafeBufferPointer { targetIDs in
            LlamaOps.crossEntropyBackward(logits: acts.logits.data, targets: targetIDs.baseAddress!, scale: scale, n: n, vocab: c.vocabSize, threads: t)
        }
        let dOutputProjection = gradients.map { $0.lmHead ?? $0.embedTokens }
        LlamaOps.linearBackward(dx: acts.dNormed.data, accumulate: false, dweight: dOutputProjection?.data,
                                dout: acts.logits.data, x: acts.finalNormed.data, weight: weights.outputProjection.data,
                                n: n, inFeatures: d, outFeatures: c.vocabSize, threads: t)
        acts.dResidual.zero()
        LlamaOps.rmsNormBackward(dx: acts.dResidual.data, dweight: gradients?.norm.data, dout: acts.dNormed.data,
                                 x: acts.finalInput.data, weight: weights.norm.data, rstd: acts.finalRstd.data, n: n, d: d, threads: t)

        for l in stride(from: c.numHiddenLayers - 1, through: 0, by: -1) {
            let a = acts.layers[l], layer = weights.layers[l], g = gradients?.layers[l]
            // MLP block; dResidual is the gradient of the block's output and flows on unchanged through the skip.
            projectBackward(.down, layer: l, dout: acts.dResidual, x: a.hidden, dx: acts.dHidden, accumulate: false)
            LlamaOps.swigluBackward(dgate: acts.dGate.data, dup: acts.dUp.data, dh: acts.dHidden.data, gate: a.gate.data,
                                    up: a.up.data, count: n * c.intermediateSize, threads: t)
            projectBackward(.gate, layer: l, dout: acts.dGate, x: a.mlpNormed, dx: acts.dNormed, accumulate: false)
            projectBackward(.up, layer: l, dout: acts.dUp, x: a.mlpNormed, dx: acts.dNormed, accumulate: true)
            LlamaOps.rmsNormBackward(dx: acts.dResidual.data, dweight: g?.mlpNorm.data, dout: acts.dNormed.data,
                                     x: a.middle.data, weight: layer.mlpNorm.data, rstd: a.mlpRstd.data, n: n, d: d, threads: t)
            // attention block
            projectBackward(.o, layer: l, dout: acts.dResidual, x: a.attention, dx: acts.dAttention, accumulate: false)
            LlamaOps.attentionBackward(dq: acts.dq.data, dk: acts.dk.data, dv: acts.dv.data, dout: acts.dAttention.data,
                                       probs: a.probs.data, q: a.q.data, k: a.k.data, v: a.v.data,
                                       scratch: acts.dProbs.data, samples: batch.samples, shape: shape, threads: t)
            batch.positions.withUnsafeBufferPointer { pos in
                LlamaOps.ropeBackward(acts.dq.data, positions: pos.baseAddress!, cos: rope.cos, sin: rope.sin, n: n,
                                      heads: c.numAttentionHeads, headDim: c.headDim)
                LlamaOps.ropeBackward(acts.dk.data, positions: pos.baseAddress!, cos: rope.cos, sin: rope.sin, n: n,
                                      heads: c.numKeyValueHeads, headDim: c.headDim)
            }
            projectBackward(.q, layer: l, dout: acts.dq, x: a.attentionNormed, dx: acts.dNormed, accumulate: false)
            projectBackward(.k, layer: l, dout: acts.dk, x: a.attentionNormed, dx: acts.dNormed, accumulate: true)
            projectBackward(.v, layer: l, dout: acts.dv, x: a.attentionNormed, dx: acts.dNormed, accumulate: true)
            LlamaOps.rmsNormBackward(dx: acts.dResidual.data, dweight: g?.attentionNorm.data, dout: acts.dNormed.data,
                                     x: a.input.data, weight: layer.attentionNorm.data, rstd: a.attentionRstd.data, n: n, d: d, threads: t)
        }
        if let gradients {
            batch.tokens.withUnsafeBufferPointer { tokens in
                LlamaOps.embeddingBackward(dtable: gradients.embedTokens.data, dout: acts.dResidual.data,
                                           tokens: tokens.baseAddress!, n: n, d: d)
            }
        }
    }

    /// Backward of `project`: dx (+)= dout·W (+ the LoRA path), dW += doutᵀ·x when fine-tuning fully,
    /// dB += scaling · doutᵀ·(x·Aᵀ), dA += (scaling · dout·B)ᵀ·x.
    /// dout [N, out], x [N, in], dx [N, in]
    func projectBackward(_ p: LlamaProjection, layer l: Int, dout: Tensor, x: Tensor, dx: Tensor, accumulate: Bool) {
        let acts = activations!, n = acts.n
        let (outFeatures, inFeatures) = p.shape(config)
        LlamaOps.linearBackward(dx: dx.data, accumulate: accumulate, dweight: gradients?.layers[l].projection(p).data,
                                dout: dout.data, x: x.data, weight: weights.layers[l].projection(p).data,
                                n: n, inFeatures: inFeatures, outFeatures: outFeatures, threads: threads)
        guard let adapter, let pair = adapter.pair(layer: l, p), let grad = adapterGradients?.pair(layer: l, p) else { return }
        let a = acts.layers[l], slot = LoRAAdapter.slot(p), r = adapter.config.rank, scaling = adapter.config.scaling
        let projected = a.loraProjected[slot]!, dProjected = acts.dLoRAProjected
        let mask = a.loraMask[slot]
        let input = mask == nil ? x : a.loraDroppedInput[slot]!
        // dB [out, r] += scaling · doutᵀ · projected
        GEMM.sgemm(threads: threads, transA: true, m: outFeatures, n: r, k: n, alpha: scaling, a: dout.data, lda: outFeatures,
                   b: projected.data, ldb: r, beta: 1, c: grad.b.data, ldc: r)
        // dProjected [N, r] = scaling · dout · B
        GEMM.sgemm(threads: threads, m: n, n: r, k: outFeatures, alpha: scaling, a: dout.data, lda: outFeatures, b: pair.b.data, ldb: r,
                   c: dProjected.data, ldc: r)
        // dA [r, in] += dProjectedᵀ · input
        GEMM.sgemm(threads: threads, transA: true, m: r, n: inFeatures, k: n, a: dProjected.data, lda: r, b: input.data, ldb: inFeatures,
                   beta: 1, c: grad.a.data, ldc: inFeatures)
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
