import Foundation

/// cos and sin of the rotary angles, `[positions, head_dim / 2]`, computed as transformers does in F32
/// (`inv_freq = 1 / theta^(2i/d)`, angle = position · inv_freq), with Llama 3 frequency scaling if configured.
final class LlamaRoPETable {
    let half: Int
    private let inverseFrequencies: [Float]
    private(set) var positions = 0
    private(set) var cos: [Float] = []
    private(set) var sin: [Float] = []

    init(config: LlamaConfig) {
        let dim = config.headDim
        half = dim / 2
        var inv = (0..<half).map { i -> Float in
            let exponent = Float(2 * i) / Float(dim)
            return 1 / Float(Foundation.pow(config.ropeTheta, Double(exponent)))
        }
        if let s = config.ropeScaling {
            // transformers' _compute_llama3_parameters
            let lowWavelength = s.originalMaxPositionEmbeddings / s.lowFreqFactor
            let highWavelength = s.originalMaxPositionEmbeddings / s.highFreqFactor
            inv = inv.map { f in
                let freq = Double(f)
                let wavelength = 2 * Double.pi / freq
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return Float(freq / s.factor) }
                let smooth = (s.originalMaxPositionEmbeddings / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor)
                return Float((1 - smooth) * freq / s.factor + smooth * freq)
            }
        }
        inverseFrequencies = inv
    }

    /// Makes the table cover positions `0..<count`.
    func ensure(positions count: Int) {
        guard count > positions else { return }
        var c = [Float](repeating: 0, count: count * half), s = c
        for p in 0..<count {
            for i in 0..<half {
                let angle = Float(p) * inverseFrequencies[i]  // an F32 product, as in torch
                c[p * half + i] = Float(Foundation.cos(Double(angle)))
                s[p * half + i] = Float(Foundation.sin(Double(angle)))
            }
        }
        cos = c
        sin = s
        positions = count
    }
}

extension LlamaOps {
    /// In place, per head: x' = x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁] (Hugging Face's convention:
    /// the first and second halves of each head pair up, not adjacent elements).
    /// x [N, heads * hd] with rows `rowStride` apart, positions [N], cos/sin [P, hd/2]
    static func ropeForward(_ x: UnsafeMutablePointer<Float>, rowStride: Int, positions: UnsafePointer<Int32>,
                            cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, n: Int, heads: Int, headDim: Int) {
        rotate(x, rowStride: rowStride, positions: positions, cos: cos, sin: sin, sinSign: 1, n: n, heads: heads, headDim: headDim)
    }

    /// In place: the transpose of the rotation (a rotation by the negated angle), dx = Rᵀ dy.
    /// dx [N, heads * hd] with rows `rowStride` apart
    static func ropeBackward(_ dx: UnsafeMutablePointer<Float>, rowStride: Int, positions: UnsafePointer<Int32>,
                             cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, n: Int, heads: Int, headDim: Int) {
        rotate(dx, rowStride: rowStride, positions: positions, cos: cos, sin: sin, sinSign: -1, n: n, heads: heads, headDim: headDim)
    }

    private static func rotate(_ x: UnsafeMutablePointer<Float>, rowStride: Int, positions: UnsafePointer<Int32>,
                               cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, sinSign: Float, n: Int, heads: Int,
                               headDim: Int) {
        let half = headDim / 2
        for i in 0..<n {
            let c = cos + Int(positions[i]) * half, s = sin + Int(positions[i]) * half
            for h in 0..<heads {
                let v = x + i * rowStride + h * headDim
                for j in 0..<half {
                    let a = v[j], b = v[j + half], sj = sinSign * s[j]
                    v[j] = a * c[j] - b * sj
                    v[j + half] = b * c[j] + a * sj
                }
            }
        }
    }
}
