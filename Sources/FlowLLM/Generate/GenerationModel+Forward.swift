import COpenBLAS

extension GenerationModel {
    /// The decoder over one pass: each segment's tokens at its session's next positions, every row attending to its
    /// own session's cache. Fills each session's `logits` from its segment's last row only (a prefill needs no
    /// logits for the prompt's earlier positions) and advances each session's `count`. Segments are checked by the
    /// caller (non-empty, fitting, distinct sessions).
    func forward(_ segments: [GenerationSegment], scratch s: GenerationScratch) {
        let c = config, w = weights
        let d = c.hiddenSize, inner = c.intermediateSize
        let qw = c.queryWidth, kvw = c.keyValueWidth, f = qw + 2 * kvw
        let n = segments.reduce(0) { $0 + $1.tokens.count }
        s.reserve(rows: n)
        s.positions.removeAll(keepingCapacity: true)
        var row = 0
        for segment in segments {
            segment.session.reserve(segment.session.count + segment.tokens.count)
            for (j, token) in segment.tokens.enumerated() {
                s.positions.append(Int32(segment.session.count + j))
                (s.x.data + row * d).update(from: embedTokens.data + Int(token) * d, count: d)
                row += 1
            }
        }
        let x = s.x.data, normed = s.normed.data, qkv = s.qkv.data, attention = s.attention.data
        let projected = s.projected.data, gateUp = s.gateUp.data, hidden = s.hidden.data, lora = s.loraScratch.data
        let adapted = adapter != nil

        for (l, layer) in w.layers.enumerated() {
            let half = bfloat16Layers.isEmpty ? nil : bfloat16Layers[l]  // [qkv, o, gateUp, down] in BF16
            // attention block: x → RMSNorm → [q | k | v] → RoPE → cache → attention → o_proj → + x
            rmsNorm(out: normed, x: x, weight: layer.attentionNorm.data, n: n)
            linear(out: qkv, ldc: f, x: normed, weight: layer.qkv.data, bfloat16: half?[0], n: n, inFeatures: d, outFeatures: f)
            if adapted {
                addLoRA(.q, layer: l, x: normed, n: n, out: qkv, ldc: f, scratch: lora)
                addLoRA(.k, layer: l, x: normed, n: n, out: qkv + qw, ldc: f, scratch: lora)
                addLoRA(.v, layer: l, x: normed, n: n, out: qkv + qw + kvw, ldc: f, scratch: lora)
            }
            row = 0
            for segment in segments {
                let session = segment.session, rows = segment.tokens.count
                s.positions.withUnsafeBufferPointer { all in
                    let pos = all.baseAddress! + row, q = qkv + row * f
                    LlamaOps.ropeForward(q, rowStride: f, positions: pos, cos: session.rope.cos, sin: session.rope.sin,
                                         n: rows, heads: c.numAttentionHeads, headDim: c.headDim)
                    LlamaOps.ropeForward(q + qw, rowStride: f, positions: pos, cos: session.rope.cos, sin: session.rope.sin,
                                         n: rows, heads: c.numKeyValueHeads, headDim: c.headDim)
                }
                for j in 0..<rows {
                    let at = session.count + j, from = qkv + (row + j) * f
                    (session.keys[l].data + at * kvw).update(from: from + qw, count: kvw)
                    (session.values[l].data + at * kvw).update(from: from + qw + kvw, count: kvw)
                }
                row += rows
            }
            attend(segments, layer: l, scratch: s)
            linear(out: projected, ldc: d, x: attention, weight: layer.o.data, bfloat16: half?[1], n: n, inFeatures: qw, outFeatures: d)
            if adapted { addLoRA(.o, layer: l, x: attention, n: n, out: projected, ldc: d, scratch: lora) }
            addInPlace(x, projected, count: n * d)

            // MLP block: x → RMSNorm → [gate | up] → silu(gate) ⊙ up → down_proj → + x
            rmsNorm(out: normed, x: x, weight: layer.mlpNorm.data, n: n)
            linear(out: gateUp, ldc: 2 * inner, x: normed, weight: layer.gateUp.data, bfloat16: half?[2], n: n,
                   inFeatures: d, outFeatures: 2 * inner)
            if adapted {
                addLoRA(.gate, layer: l, x: normed, n: n, out: gateUp, ldc: 2 * inner, scratch: lora)
                addLoRA(.up, layer: l, x: normed, n: n, out: gateUp + inner, ldc: 2 * inner, scratch: lora)
            }
            LlamaOps.swigluForward(h: hidden, gate: gateUp, up: gateUp + inner, n: n, width: inner,
                                   stride: 2 * inner, threads: ComputeThreads(count: 1))
            linear(out: projected, ldc: d, x: hidden, weight: layer.down.data, bfloat16: half?[3], n: n,
                   inFeatures: inner, outFeatures: d)
            if adapted { addLoRA(.down, layer: l, x: hidden, n: n, out: projected, ldc: d, scratch: lora) }
            addInPlace(x, projected, count: n * d)
        }
        scoreLastRows(segments, scratch: s)
        for segment in segments { segment.session.count += segment.tokens.count }
    }

    /// final RMSNorm → lm_head for each segment's last row, into its session's `logits`.
    private func scoreLastRows(_ segments: [GenerationSegment], scratch s: GenerationScratch) {
        let c = config, d = c.hiddenSize, vocab = c.vocabSize
        var row = 0, k = 0
        for segment in segments {
            row += segment.tokens.count
            rmsNorm(out: s.normed.data + k * d, x: s.x.data + (row - 1) * d, weight: weights.norm.data, n: 1)
            k += 1
        }
        if k == 1 {
            let logits = segments[0].session.logits.data
            linear(out: logits, ldc: vocab, x: s.normed.data, weight: outputProjection.data, bfloat16: bfloat16Head,
                   n: 1, inFeatures: d, outFeatures: vocab)
            return
        }
        s.reserve(logitRows: k)
        linear(out: s.logits.data, ldc: vocab, x: s.normed.data, weight: outputProjection.data, bfloat16: bfloat16Head,
               n: k, inFeatures: d, outFeatures: vocab)
        for (i, segment) in segments.enumerated() {
            segment.session.logits.data.update(from: s.logits.data + i * vocab, count: vocab)
        }
    }

    /// Causal attention of each row over its session's cache rows 0...position, each query head reading key/value
    /// head h / (Hq / Hkv). Scores and weighted sums are matrix–vector products. Work is split over (segment, head)
    /// pairs: a pair owns its session's score row for that head, so rows of one segment run in order.
    private func attend(_ segments: [GenerationSegment], layer l: Int, scratch s: GenerationScratch) {
        let c = config, hd = c.headDim, qw = c.queryWidth, kvw = c.keyValueWidth, f = qw + 2 * kvw
        let heads = c.numAttentionHeads, group = heads / c.numKeyValueHeads
        let scale = 1 / Float(hd).squareRoot()
        var firstRows: [Int] = [], work = 0, row = 0
        firstRows.reserveCapacity(segments.count)
        for segment in segments {
            firstRows.append(row)
            row += segment.tokens.count
            work += segment.tokens.count * (segment.session.count + segment.tokens.count) * hd * heads
        }
        let q = s.qkv.data, out = s.attention.data
        let threads = work >= 1 << 16 ? self.threads : ComputeThreads(count: 1)
        threads.forEach(segments.count * heads) { item in
            let segment = segments[item / heads], h = item % heads, g = h / group
            let session = segment.session, cap = session.allocated
            let k = session.keys[l].data, v = session.values[l].data, scores = session.scores.data + h * cap
            for j in 0..<segment.tokens.count {
                let r = firstRows[item / heads] + j, length = session.count + j + 1
                // scores[t] = scale · q·k_t, t ≤ position
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(length), Int32(hd), scale, k + g * hd, Int32(kvw),
                            q + r * f + h * hd, 1, 0, scores, 1)
                let shift = VectorMath.max(scores, count: length)
                let sum = VectorMath.expInPlace(scores, count: length, subtracting: shift)
                // out = Σ_t softmax_t · v_t
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(length), Int32(hd), 1 / sum, v + g * hd, Int32(kvw),
                            scores, 1, 0, out + r * qw + h * hd, 1)
            }
        }
    }

    /// y = weight · x / √(mean(x²) + eps) per row, as `LlamaRMSNorm`.
    private func rmsNorm(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, n: Int) {
        let d = config.hiddenSize, eps = config.rmsNormEps
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
