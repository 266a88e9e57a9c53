extension LlamaOps {
    /// h = silu(gate) ⊙ up, silu(g) = g · σ(g)
    /// h, gate, up [N, I] (count = N * I)
    static func swigluForward(h: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int,
                              threads: ComputeThreads) {
        typealias V = VectorMath
        threads.forRanges(count, minimum: 4096) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let m = min(V.width, range.upperBound - i)
                let g = V.load(gate + i, count: m)
                V.store(g / (1 + V.exp(-g)) * V.load(up + i, count: m), h + i, count: m)
                i += m
            }
        }
    }

    /// dgate = dh ⊙ up ⊙ σ(g)(1 + g(1 − σ(g)));  dup = dh ⊙ silu(g)   (both overwritten)
    /// dgate, dup, dh, gate, up [N, I]
    static func swigluBackward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>, dh: UnsafePointer<Float>,
                               gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, threads: ComputeThreads) {
        typealias V = VectorMath
        threads.forRanges(count, minimum: 4096) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let m = min(V.width, range.upperBound - i)
                let g = V.load(gate + i, count: m), d = V.load(dh + i, count: m)
                let s = 1 / (1 + V.exp(-g))
                V.store(d * g * s, dup + i, count: m)
                V.store(d * V.load(up + i, count: m) * s * (1 + g * (1 - s)), dgate + i, count: m)
                i += m
            }
        }
    }
}
