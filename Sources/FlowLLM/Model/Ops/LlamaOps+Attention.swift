/// Shapes shared by attention forward and backward.
struct LlamaAttentionShape {
    var heads: Int           // Hq
    var keyValueHeads: Int   // Hkv; query head h reads key/value head h / (Hq / Hkv)
    var headDim: Int         // hd
    var queryStride: Int     // elements between rows of q and dq (Hq*hd dense; wider inside a fused qkv buffer)
    var keyValueStride: Int  // elements between rows of k, v, dk, dv
    var outputStride: Int { heads * headDim }  // out and dout are dense [N, Hq*hd]
    var groupSize: Int { heads / keyValueHeads }

    init(heads: Int, keyValueHeads: Int, headDim: Int, queryStride: Int? = nil, keyValueStride: Int? = nil) {
        self.heads = heads
        self.keyValueHeads = keyValueHeads
        self.headDim = headDim
        self.queryStride = queryStride ?? heads * headDim
        self.keyValueStride = keyValueStride ?? keyValueHeads * headDim
    }
}

/// One unit of parallel attention work: the query heads of one sample that share key/value head `group`
/// (they add into the same dK and dV rows, so they stay on one thread).
struct LlamaAttentionWork {
    var rows: Range<Int>     // the sample's tokens
    var group: Int           // key/value head
    var probs: Int           // offset of the group's first head's L×L probabilities in `probs`
    var scratch: Int         // offset of this item's L×L backward scratch
}

extension LlamaOps {
    /// Query rows per block: block b only needs key columns 0..<end(b), so causal attention skips the
    /// blocks above the diagonal (about 40% of the work at L = 256) while each product stays large enough for sgemm.
    static let attentionBlockRows = 64

    /// The number of floats `probs` needs: Hq · Σ L² over the samples.
    static func attentionProbabilityCount(samples: [Range<Int>], heads: Int) -> Int {
        samples.reduce(0) { $0 + heads * $1.count * $1.count }
    }

    /// The work items, and the backward scratch they need in all (Hkv · Σ L²).
    static func attentionWork(samples: [Range<Int>], shape: LlamaAttentionShape) -> (items: [LlamaAttentionWork], scratch: Int) {
        var items: [LlamaAttentionWork] = [], probs = 0, scratch = 0
        for sample in samples {
            let square = sample.count * sample.count
            for g in 0..<shape.keyValueHeads {
                items.append(LlamaAttentionWork(rows: sample, group: g, probs: probs + g * shape.groupSize * square, scratch: scratch))
                scratch += square
            }
            probs += shape.heads * square
        }
        return (items, scratch)
    }

    /// Causal grouped-query attention within each sample (packed samples never see each other).
    /// Per sample of length L and head h: S = Q_h K_gᵀ / √hd [L, L], causal softmax → P, O_h = P V_g [L, hd].
    /// out [N, Hq*hd], probs [Hq · Σ L²] (saved; zero above the diagonal), q [N, Hq*hd], k, v [N, Hkv*hd] (q, k rotated;
    /// rows `shape.queryStride` / `shape.keyValueStride` apart, so they may be column blocks of one fused buffer)
    static func attentionForward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                                 q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 samples: [Range<Int>], shape: LlamaAttentionShape, threads: ComputeThreads,
                                 blockRows: Int = attentionBlockRows) {
        let hd = shape.headDim, qs = shape.queryStride, kvs = shape.keyValueStride, os = shape.outputStride
        let scale = 1 / Float(hd).squareRoot()
        let work = attentionWork(samples: samples, shape: shape).items
        threads.forEach(work.count) { index in
            let item = work[index], l = item.rows.count, s0 = item.rows.lowerBound
            let kg = k + s0 * kvs + item.group * hd, vg = v + s0 * kvs + item.group * hd
            for member in 0..<shape.groupSize {
                let h = item.group * shape.groupSize + member
                let qh = q + s0 * qs + h * hd, oh = out + s0 * os + h * hd
                let p = probs + item.probs + member * l * l
                for r0 in stride(from: 0, to: l, by: blockRows) {
                    let r1 = min(r0 + blockRows, l)
                    // S[r0..<r1, 0..<r1] = Q[r0..<r1] K[0..<r1]ᵀ / √hd
                    GEMM.sgemm(transB: true, m: r1 - r0, n: r1, k: hd, alpha: scale, a: qh + r0 * qs, lda: qs, b: kg, ldb: kvs,
                               c: p + r0 * l, ldc: l)
                    for i in r0..<r1 {
                        // causal softmax of row i over columns 0...i; the rest of the row is 0
                        let row = p + i * l
                        let sum = VectorMath.expInPlace(row, count: i + 1, subtracting: VectorMath.max(row, count: i + 1))
                        let inv = 1 / sum
                        for j in 0...i { row[j] *= inv }
                        (row + i + 1).update(repeating: 0, count: l - i - 1)
                    }
                    // O[r0..<r1] = P[r0..<r1, 0..<r1] V[0..<r1]
                    GEMM.sgemm(m: r1 - r0, n: hd, k: r1, a: p + r0 * l, lda: l, b: vg, ldb: kvs, c: oh + r0 * os, ldc: os)
                }
            }
        }
    }

    /// Backward of `attentionForward`, block by block like the forward. dq, dk and dv are overwritten.
    /// scratch holds `attentionWork(...).scratch` floats.
    /// dP = dO_h V_gᵀ;  dV_g += Pᵀ dO_h;  dS = P ⊙ (dP − rowsum(P ⊙ dP));  dQ_h = dS K_g / √hd;  dK_g += dSᵀ Q_h / √hd
    static func attentionBackward(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                  dout: UnsafePointer<Float>, probs: UnsafePointer<Float>, q: UnsafePointer<Float>,
                                  k: UnsafePointer<Float>, v: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                  samples: [Range<Int>], shape: LlamaAttentionShape, threads: ComputeThreads,
                                  blockRows: Int = attentionBlockRows) {
        let hd = shape.headDim, qs = shape.queryStride, kvs = shape.keyValueStride, os = shape.outputStride
        let scale = 1 / Float(hd).squareRoot()
        let work = attentionWork(samples: samples, shape: shape).items
        threads.forEach(work.count) { index in
            let item = work[index], l = item.rows.count, s0 = item.rows.lowerBound, g = item.group
            let kg = k + s0 * kvs + g * hd, vg = v + s0 * kvs + g * hd
            let dkg = dk + s0 * kvs + g * hd, dvg = dv + s0 * kvs + g * hd
            for i in 0..<l {
                (dkg + i * kvs).update(repeating: 0, count: hd)
                (dvg + i * kvs).update(repeating: 0, count: hd)
            }
            let dP = scratch + item.scratch
            for member in 0..<shape.groupSize {
                let h = g * shape.groupSize + member
                let qh = q + s0 * qs + h * hd, doh = dout + s0 * os + h * hd, dqh = dq + s0 * qs + h * hd
                let p = probs + item.probs + member * l * l
                for r0 in stride(from: 0, to: l, by: blockRows) {
                    let r1 = min(r0 + blockRows, l), rows = r1 - r0
                    let pb = p + r0 * l, dPb = dP + r0 * l
                    GEMM.sgemm(transB: true, m: rows, n: r1, k: hd, a: doh + r0 * os, lda: os, b: vg, ldb: kvs, c: dPb, ldc: l)
                    GEMM.sgemm(transA: true, m: r1, n: hd, k: rows, a: pb, lda: l, b: doh + r0 * os, ldb: os, beta: 1, c: dvg, ldc: kvs)
                    for i in r0..<r1 {
                        let pr = p + i * l, dr = dP + i * l
                        let dot = VectorMath.dot(pr, dr, count: i + 1)
                        for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) }
                        (dr + i + 1).update(repeating: 0, count: r1 - i - 1)
                    }
                    GEMM.sgemm(m: rows, n: hd, k: r1, alpha: scale, a: dPb, lda: l, b: kg, ldb: kvs, c: dqh + r0 * qs, ldc: qs)
                    GEMM.sgemm(transA: true, m: r1, n: hd, k: rows, alpha: scale, a: dPb, lda: l, b: qh + r0 * qs, ldb: qs, beta: 1,
                               c: dkg, ldc: kvs)
                }
            }
        }
    }
}
