import COpenBLAS

extension GenerationSession {
    /// The decoder over `tokens` at positions count..<count+n, attending to the cache; fills `logits` from the
    /// last row only (a prefill needs no logits for the prompt's earlier positions).
    func forward(_ tokens: [Int32]) {
        let m = model, c = m.config, w = m.weights
        let n = tokens.count, d = c.hiddenSize, inner = c.intermediateSize
        let qw = c.queryWidth, kvw = c.keyValueWidth, f = qw + 2 * kvw
        reserveRows(n)
        positions.removeAll(keepingCapacity: true)
        for j in 0..<n { positions.append(Int32(count + j)) }
        for j in 0..<n { (x.data + j * d).update(from: m.embedTokens.data + Int(tokens[j]) * d, count: d) }
        let lora = loraScratch.data, adapted = m.adapter != nil

        for (l, layer) in w.layers.enumerated() {
            let half = m.bfloat16Layers.isEmpty ? nil : m.bfloat16Layers[l]  // [qkv, o, gateUp, down] in BF16
            // attention block: x → RMSNorm → [q | k | v] → RoPE → cache → attention → o_proj → + x
            rmsNorm(out: normed.data, x: x.data, weight: layer.attentionNorm.data, n: n)
            m.linear(out: qkv.data, ldc: f, x: normed.data, weight: layer.qkv.data, bfloat16: half?[0], n: n,
                     inFeatures: d, outFeatures: f)
            if adapted {
                m.addLoRA(.q, layer: l, x: normed.data, n: n, out: qkv.data, ldc: f, scratch: lora)
                m.addLoRA(.k, layer: l, x: normed.data, n: n, out: qkv.data + qw, ldc: f, scratch: lora)
                m.addLoRA(.v, layer: l, x: normed.data, n: n, out: qkv.data + qw + kvw, ldc: f, scratch: lora)
            }
            positions.withUnsafeBufferPointer { pos in
                LlamaOps.ropeForward(qkv.data, rowStride: f, positions: pos.baseAddress!, cos: rope.cos, sin: rope.sin,
                                     n: n, heads: c.numAttentionHeads, headDim: c.headDim)
                LlamaOps.ropeForward(qkv.data + qw, rowStride: f, positions: pos.baseAddress!, cos: rope.cos, sin: rope.sin,
                                     n: n, heads: c.numKeyValueHeads, headDim: c.headDim)
            }
            for j in 0..<n {
                (keys[l].data + (count + j) * kvw).update(from: qkv.data + j * f + qw, count: kvw)
                (values[l].data + (count + j) * kvw).update(from: qkv.data + j * f + qw + kvw, count: kvw)
            }
            attend(layer: l, n: n)
            m.linear(out: projected.data, ldc: d, x: attention.data, weight: layer.o.data, bfloat16: half?[1], n: n,
                     inFeatures: qw, outFeatures: d)
            if adapted { m.addLoRA(.o, layer: l, x: attention.data, n: n, out: projected.data, ldc: d, scratch: lora) }
            addInPlace(x.data, projected.data, count: n * d)

            // MLP block: x → RMSNorm → [gate | up] → silu(gate) ⊙ up → down_proj → + x
            rmsNorm(out: normed.data, x: x.data, weight: layer.mlpNorm.data, n: n)
            m.linear(out: gateUp.data, ldc: 2 * inner, x: normed.data, weight: layer.gateUp.data, bfloat16: half?[2], n: n,
                     inFeatures: d, outFeatures: 2 * inner)
            if adapted {
                m.addLoRA(.gate, layer: l, x: normed.data, n: n, out: gateUp.data, ldc: 2 * inner, scratch: lora)
                m.addLoRA(.up, layer: l, x: normed.data, n: n, out: gateUp.data + inner, ldc: 2 * inner, scratch: lora)
            }
            LlamaOps.swigluForward(h: hidden.data, gate: gateUp.data, up: gateUp.data + inner, n: n, width: inner,
                                   stride: 2 * inner, threads: ComputeThreads(count: 1))
            m.linear(out: projected.data, ldc: d, x: hidden.data, weight: layer.down.data, bfloat16: half?[3], n: n,
                     inFeatures: inner, outFeatures: d)
            if adapted { m.addLoRA(.down, layer: l, x: hidden.data, n: n, out: projected.data, ldc: d, scratch: lora) }
            addInPlace(x.data, projected.data, count: n * d)
        }
        // final RMSNorm → lm_head, for the last row only
        rmsNorm(out: normed.data, x: x.data + (n - 1) * d, weight: w.norm.data, n: 1)
        m.linear(out: logits.data, ldc: c.vocabSize, x: normed.data, weight: m.outputProjection.data, bfloat16: m.bfloat16Head,
                 n: 1, inFeatures: d,
                 outFeatures: c.vocabSize)
        count += n
    }

    /// Causal attention of the n new rows (positions count..<count+n) over the cache rows 0...position,
    /// each query head reading key/value head h / (Hq / Hkv). Scores and weighted sums are matrix–vector products.
    private func attend(layer l: Int, n: Int) {
        let c = model.config, hd = c.headDim, qw = c.queryWidth, kvw = c.keyValueWidth, f = qw + 2 * kvw
        let heads = c.numAttentionHeads, group = heads / c.numKeyValueHeads
        let scale = 1 / Float(hd).squareRoot()
        let k = keys[l].data, v = values[l].data, q = qkv.data, out = attention.data, s = scores.data, cap = capacity
        for j in 0..<n {
            let length = count + j + 1
            let threads = length * hd * heads >= 1 << 16 ? model.threads : ComputeThreads(count: 1)
            threads.forEach(heads) { h in
                let g = h / group, row = s + h * cap
                // scores[t] = scale · q·k_t, t ≤ position
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(length), Int32(hd), scale, k + g * hd, Int32(kvw),
                            q + j * f + h * hd, 1, 0, row, 1)
                let shift = VectorMath.max(row, count: length)
                let sum = VectorMath.expInPlace(row, count: length, subtracting: shift)
                // out = Σ_t softmax_t · v_t
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(length), Int32(hd), 1 / sum, v + g * hd, Int32(kvw),
                            row, 1, 0, out + j * qw + h * hd, 1)
            }
        }
    }

    /// y = weight · x / √(mean(x²) + eps) per row, as `LlamaRMSNorm`.
    private func rmsNorm(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, n: Int) {
        let d = model.config.hiddenSize, eps = model.config.rmsNormEps
        for i in 0..<n {
            let row = x + i * d, o = out + i * d
            let r = 1 / (VectorMath.dot(row, row, count: d) / Float(d) + eps).squareRoot()
            for j in 0..<d { o[j] = weight[j] * (row[j] * r) }
        }
    }

    private func addInPlace(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { a[i] += b[i] }
    }
}
