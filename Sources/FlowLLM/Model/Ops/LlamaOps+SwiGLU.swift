import Foundation

extension LlamaOps {
    /// h = silu(gate) ⊙ up, silu(g) = g * sigmoid(g)
    /// h, gate, up [N, I] (count = N * I)
    static func swigluForward(h: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate[i]
            h[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    /// dgate = dh ⊙ up ⊙ σ(g)(1 + g(1 − σ(g)));  dup = dh ⊙ silu(g)   (both overwritten)
    /// dgate, dup, dh, gate, up [N, I]
    static func swigluBackward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>, dh: UnsafePointer<Float>,
                               gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate[i]
            let s = 1 / (1 + expf(-g))
            dup[i] = dh[i] * g * s
            dgate[i] = dh[i] * up[i] * s * (1 + g * (1 - s))
        }
    }
}
