import Foundation

/// A small seeded generator (SplitMix64) for weight initialisation and dropout: the same seed gives the
/// same tensors on every machine, which the content-addressed cache relies on.
public struct TensorRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform float in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Fills `tensor` with U(low, high).
    public mutating func fillUniform(_ tensor: Tensor, low: Float, high: Float) {
        for i in 0..<tensor.count { tensor.data[i] = low + (high - low) * nextUnitFloat() }
    }

    /// Fills `tensor` with N(mean, std²) by the Box–Muller transform (in Double for accuracy).
    public mutating func fillNormal(_ tensor: Tensor, mean: Float = 0, std: Float) {
        var i = 0
        while i < tensor.count {
            let u1 = (Double(next() >> 11) + 1) * 0x1p-53  // (0, 1]: log is finite
            let u2 = Double(next() >> 11) * 0x1p-53
            let radius = (-2 * log(u1)).squareRoot()
            tensor.data[i] = mean + std * Float(radius * cos(2 * Double.pi * u2))
            if i + 1 < tensor.count { tensor.data[i + 1] = mean + std * Float(radius * sin(2 * Double.pi * u2)) }
            i += 2
        }
    }
}
