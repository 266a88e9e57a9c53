/// Shapes shared by attention forward and backward.
struct LlamaAttentionShape {
    var heads: Int          // Hq
    var keyValueHeads: Int  // Hkv; query head h reads key/value head h / (Hq / Hkv)
    var headDim: Int        // hd
    var queryStride: Int { heads * headDim }
    var keyValueStride: Int { keyValueHeads * headDim }
    var groupSize: Int { heads / keyValueHeads }
}

extension LlamaOps {
    /// The number of floats `probs` needs: Hq · Σ L² over the samples.
    static func attentionProbabilityCount(samples: [Range<Int>], heads: Int) -> Int {
        samples.reduce(0) { $0 + heads * $1.count * $1.count }
    }

    /// Causal grouped-query attention within each sample (packed samples never see each other).
    /// Per sample of length L and head h: S = Q_h K_gᵀ / √hd [L, L], causal softmax → P, O_h = P V_g [L, hd].
    /// out [N, Hq*hd], probs [Hq · Σ L²] (saved), q [N, Hq*hd], k, v [N, Hkv*hd] (q and k already rotated)
    static func attentionForward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                                 q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 samples: [Range<Int>], shape: LlamaAttentionShape) {
        let hd = shape.headDim, qs = shape.queryStride, kvs = shape.keyValueStride
        let scale = 1 / Float(hd).squareRoot()
        var p = probs
        for sample in samples {
            let l = sample.count, s0 = sample.lowerBound
            for h in 0..<shape.heads {
                let g = h / shape.groupSize
                let qh = q + s0 * qs + h * hd, kg = k + s0 * kvs + g * hd, vg = v + s0 * kvs + g * hd
                GEMM.sgemm(transB: true, m: l, n: l, k: hd, alpha: scale, a: qh, lda: qs, b: kg, ldb: kvs, c: p, ldc: l)
                for i in 0..<l {
                    // causal softmax of row i over columns 0...i; the rest of the row is 0
                    let row = p + i * l
                    let sum = VectorMath.expInPlace(row, count: i + 1, subtracting: VectorMath.max(row, count: i + 1))
                    let inv = 1 / sum
                    for j in 0...i { row[j] *= inv }
                    (row + i + 1).update(repeating: 0, count: l - i - 1)
                }
                GEMM.sgemm(m: l, n: hd, k: l, a: p, lda: l, b: vg, ldb: kvs, c: out + s0 * qs + h * hd, ldc: qs)
                p += l * l
            }
        }
    }

    /// Backward of `attentionForward`. dq is overwritten; dk and dv are overwritten (heads sharing a
    /// key/value head add into it). scratch holds at least max L² floats.
    /// dP = dO_h V_gᵀ;  dV_g += Pᵀ dO_h;  dS = P ⊙ (dP − rowsum(P ⊙ dP));  dQ_h = dS K_g / √hd;  dK_g += dSᵀ Q_h / √hd
    static func attentionBackward(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                  dout: UnsafePointer<Float>, probs: UnsafePointer<Float>, q: UnsafePointer<Float>,
                                  k: UnsafePointer<Float>, v: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                  samples: [Range<Int>], shape: LlamaAttentionShape) {
        let hd = shape.headDim, qs = shape.queryStride, kvs = shape.keyValueStride
        let scale = 1 / Float(hd).squareRoot()
        let n = samples.last?.upperBound ?? 0
        dk.update(repeating: 0, count: n * kvs)
        dv.update(repeating: 0, count: n * kvs)
        var p = probs
        for sample in samples {
            let l = sample.count, s0 = sample.lowerBound
            for h in 0..<shape.heads {
                let g = h / shape.groupSize
                let qh = q + s0 * qs + h * hd, kg = k + s0 * kvs + g * hd, vg = v + s0 * kvs + g * hd
                let doh = dout + s0 * qs + h * hd
                let dP = scratch
                GEMM.sgemm(transB: true, m: l, n: l, k: hd, a: doh, lda: qs, b: vg, ldb: kvs, c: dP, ldc: l)
                GEMM.sgemm(transA: true, m: l, n: hd, k: l, a: p, lda: l, b: doh, ldb: qs, beta: 1,
                           c: dv + s0 * kvs + g * hd, ldc: kvs)
                for i in 0..<l {
                    let pr = p + i * l, dr = dP + i * l
                    let dot = VectorMath.dot(pr, dr, count: i + 1)
                    for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) }
                    (dr + i + 1).update(repeating: 0, count: l - i - 1)
                }
                GEMM.sgemm(m: l, n: hd, k: l, alpha: scale, a: dP, lda: l, b: kg, ldb: kvs, c: dq + s0 * qs + h * hd, ldc: qs)
                GEMM.sgemm(transA: true, m: l, n: hd, k: l, alpha: scale, a: dP, lda: l, b: qh, ldb: qs, beta: 1,
                           c: dk + s0 * kvs + g * hd, ldc: kvs)
                p += l * l
            }
        }
    }
}
