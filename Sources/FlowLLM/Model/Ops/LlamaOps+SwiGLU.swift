extension LlamaOps {
    /// h = silu(gate) ⊙ up, silu(g) = g · σ(g)
    /// h [N, I] dense; gate, up [N, I] with rows `stride` apart (column blocks of the fused gate/up output)
    static func swigluForward(h: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                              n: Int, width: Int, stride: Int, threads: ComputeThreads) {
        typealias V = VectorMath
        threads.forRanges(n, minimum: 16) { rows in
            for r in rows {
                let hr = h + r * width, gr = gate + r * stride, ur = up + r * stride
                var i = 0
                while i < width {
                    let m = min(V.width, width - i)
                    let g = V.load(gr + i, count: m)
                    V.store(g / (1 + V.exp(-g)) * V.load(ur + i, count: m), hr + i, count: m)
                    i += m
                }
            }
        }
    }

    /// dgate = dh ⊙ up ⊙ σ(g)(1 + g(1 − σ(g)));  dup = dh ⊙ silu(g)   (both overwritten)
    /// dh [N, I] dense; dgate, dup, gate, up [N, I] with rows `stride` apart
    static func swigluBackward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>, dh: UnsafePointer<Float>,
                               gate: UnsafePointer<Float>, up: UnsafePointer<Float>, n: Int, width: Int, stride: Int,
                               threads: ComputeThreads) {
        typealias V = VectorMath
        threads.forRanges(n, minimum: 16) { rows in
            for r in rows {
                let dhr = dh + r * width, gr = gate + r * stride, ur = up + r * stride
                let dgr = dgate + r * stride, dur = dup + r * stride
                var i = 0
                while i < width {
                    let m = min(V.width, width - i)
                    let g = V.load(gr + i, count: m), d = V.load(dhr + i, count: m)
                    let s = 1 / (1 + V.exp(-g))
                    V.store(d * g * s, dur + i, count: m)
                    V.store(d * V.load(ur + i, count: m) * s * (1 + g * (1 - s)), dgr + i, count: m)
                    i += m
                }
            }
        }
    }
}
