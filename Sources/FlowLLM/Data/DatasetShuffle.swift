/// The seeded shuffle Axolotl gets from Hugging Face `datasets`: `Dataset.shuffle(seed=s)` takes
/// `numpy.random.default_rng(s).permutation(n)`, i.e. PCG64 (XSL-RR 128/64) seeded through numpy's
/// `SeedSequence`, driving a Fisher–Yates shuffle whose draws are masked rejection samples
/// (`random_interval`). Reproducing it bit for bit gives the same train/eval split as Axolotl for a seed.
public struct DatasetShuffle: Sendable {
    private var stateHigh: UInt64, stateLow: UInt64
    private let incrementHigh: UInt64, incrementLow: UInt64
    private var bufferedHalf: UInt32? = nil

    /// A generator seeded like `numpy.random.default_rng(seed)`.
    public init(seed: UInt64) {
        let words = Self.seedSequenceState(seed: seed)  // four 64-bit words
        incrementHigh = (words[2] << 1) | (words[3] >> 63)
        incrementLow = (words[3] << 1) | 1
        stateHigh = 0; stateLow = 0
        step()
        let (low, carry) = stateLow.addingReportingOverflow(words[1])
        stateLow = low
        stateHigh = stateHigh &+ words[0] &+ (carry ? 1 : 0)
        step()
    }

    /// The next 64 random bits (numpy's `next_uint64`).
    public mutating func next() -> UInt64 {
        step()
        let rotation = stateHigh >> 58
        let value = stateHigh ^ stateLow
        return (value >> rotation) | (value << ((64 &- rotation) & 63))
    }

    /// The next 32 random bits: each 64-bit draw serves two, low half first (numpy's `next_uint32`).
    public mutating func next32() -> UInt32 {
        if let half = bufferedHalf { bufferedHalf = nil; return half }
        let value = next()
        bufferedHalf = UInt32(truncatingIfNeeded: value >> 32)
        return UInt32(truncatingIfNeeded: value)
    }

    /// A uniform integer in 0...max by masked rejection (numpy's `random_interval`).
    public mutating func interval(_ max: UInt64) -> UInt64 {
        if max == 0 { return 0 }
        var mask = max
        for shift in [1, 2, 4, 8, 16, 32] as [UInt64] { mask |= mask >> shift }
        while true {
            let value = max <= UInt64(UInt32.max) ? UInt64(next32()) & mask : next() & mask
            if value <= max { return value }
        }
    }

    /// `numpy.random.default_rng(seed).permutation(count)`.
    public mutating func permutation(_ count: Int) -> [Int] {
        var out = Array(0..<count)
        var i = count - 1
        while i > 0 {
            out.swapAt(i, Int(interval(UInt64(i))))
            i -= 1
        }
        return out
    }

    /// `items` in the order `permutation(items.count)` gives.
    public mutating func shuffled<T>(_ items: [T]) -> [T] {
        permutation(items.count).map { items[$0] }
    }

    /// One PCG step: state = state × multiplier + increment (mod 2^128).
    private mutating func step() {
        let multiplierHigh: UInt64 = 2_549_297_995_355_413_924, multiplierLow: UInt64 = 4_865_540_595_714_422_341
        let (productHigh, productLow) = stateLow.multipliedFullWidth(by: multiplierLow)
        let high = productHigh &+ stateLow &* multiplierHigh &+ stateHigh &* multiplierLow
        let (low, carry) = productLow.addingReportingOverflow(incrementLow)
        stateLow = low
        stateHigh = high &+ incrementHigh &+ (carry ? 1 : 0)
    }

    /// numpy's `SeedSequence(seed).generate_state(4, uint64)`: the seed's 32-bit words hashed into a
    /// four-word pool, then expanded.
    static func seedSequenceState(seed: UInt64) -> [UInt64] {
        let multA: UInt32 = 0x931E_8875, multB: UInt32 = 0x58F3_8DED
        let mixL: UInt32 = 0xCA01_F9DD, mixR: UInt32 = 0x4973_F715
        var entropy: [UInt32] = seed == 0 ? [0] : []
        var rest = seed
        while rest > 0 { entropy.append(UInt32(truncatingIfNeeded: rest)); rest >>= 32 }
        var hashConst: UInt32 = 0x43B0_D7E5
        func hashmix(_ v: UInt32) -> UInt32 {
            var value = v ^ hashConst
            hashConst = hashConst &* multA
            value = value &* hashConst
            return value ^ (value >> 16)
        }
        func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
            let r = mixL &* x &- mixR &* y
            return r ^ (r >> 16)
        }
        var pool = (0..<4).map { hashmix($0 < entropy.count ? entropy[$0] : 0) }
        for source in 0..<4 {
            for destination in 0..<4 where source != destination {
                pool[destination] = mix(pool[destination], hashmix(pool[source]))
            }
        }
        for source in 4..<max(4, entropy.count) {
            for destination in 0..<4 { pool[destination] = mix(pool[destination], hashmix(entropy[source])) }
        }
        var expandConst: UInt32 = 0x8B51_F9DD
        let words: [UInt32] = (0..<8).map { i in
            var value = pool[i % 4] ^ expandConst
            expandConst = expandConst &* multB
            value = value &* expandConst
            return value ^ (value >> 16)
        }
        return (0..<4).map { UInt64(words[2 * $0]) | UInt64(words[2 * $0 + 1]) << 32 }
    }
}
