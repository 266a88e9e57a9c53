extension LlamaOps {
    /// h = silu(gate) ⊙ up, silu(g) = g · σ(g)
    /// h, gate, up [N, I] (count = N * I)
    static func swigluForward(h: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        typealias V = VectorMath
        var i = 0
        while i + V.width <= count {
            let g = V.load(gate + i)
            V.store(g / (1 + V.exp(-g)) * V.load(up + i), h + i)
            i += V.width
        }
        while i < count { h[i] = gate[i] / (1 + V.exp(-gate[i])) * up[i]; i += 1 }
    }

    /// dgate = dh ⊙ up ⊙ σ(g)(1 + g(1 − σ(g)));  dup = dh ⊙ silu(g)   (both overwritten)
    /// dgate, dup, dh, gate, up [N, I]
    static func swigluBackward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>, dh: UnsafePointer<Float>,
                               gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        typealias V = VectorMath
        var i = 0
        while i + V.width <= count {
            let g = V.load(gate + i), d = V.load(dh + i)
            let s = 1 / (1 + V.exp(-g))
            V.store(d * g * s, dup + i)
            V.store(d * V.load(up + i) * s * (1 + g * (1 - s)), dgate + i)
            i += V.width
        }
        while i < count {
            let g = gate[i], s = 1 / (1 + V.exp(-g))
            dup[i] = dh[i] * g * s
            dgate[i] = dh[i] * up[i] * s * (1 + g * (1 - s))
            i += 1
        }
    }
}
