/// A seeded, documented shuffle so splits are reproducible: SplitMix64 (Steele, Lea, Flood 2014; Vigna's
/// constants) drives a Fisher–Yates shuffle
/// (`j = next() % (i + 1)` for i from n−1 down to 1).
public struct DatasetShuffle: Sendable {
    private var state: UInt64

    /// A generator seeded with `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `items` in the order of a Fisher–Yates shuffle driven by this generator.
    public mutating func shuffled<T>(_ items: [T]) -> [T] {
        var out = items
        var i = out.count - 1
        while i > 0 {
            let j = Int(next() % UInt64(i + 1))
            out.swapAt(i, j)
            i -= 1
        }
        return out
    }
}
