/// Vectorised loops over F32 buffers (16 lanes at a time) for the model's elementwise work: reductions the
/// compiler will not vectorise on its own (they reassociate float sums) and an exp without a libm call per element.
enum VectorMath {
    typealias Vector = SIMD16<Float>
    static let width = 16

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// e^x to within about 1 ulp (Cephes' expf: x = k·ln2 + r, a degree-6 polynomial for e^r, then 2^k);
    /// inputs are clamped to [−87.3, 88.7], so it never returns 0 or infinity. Written with the operations the
    /// standard library lowers straight to vector instructions (no generic `rounded` or int conversion).
    @inline(__always)
    static func exp(_ x: Vector) -> Vector {
        var x = x
        x.replace(with: Vector(repeating: -87.3), where: x .< -87.3)
        x.replace(with: Vector(repeating: 88.7), where: x .> 88.7)
        // Adding 1.5·2²³ rounds x/ln2 to the nearest integer k, which then sits in the low mantissa bits.
        let t = x * 1.442_695_04 + 12_582_912
        let k = t - 12_582_912
        let r = x - k * 0.693_359_375 + k * 2.121_944_4e-4
        var p = Vector(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let y = p * r * r + r + 1
        let exponent = (unsafeBitCast(t, to: SIMD16<UInt32>.self) &- 0x4B40_0000 &+ 127) &* 8_388_608  // (k + 127) << 23
        return y * unsafeBitCast(exponent, to: Vector.self)
    }

    /// The first `count` (≤ 16) values at p in a vector whose other lanes are `padding`.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, count: Int, padding: Float = 0) -> Vector {
        if count == width { return load(p) }
        var v = Vector(repeating: padding)
        for j in 0..<count { v[j] = p[j] }
        return v
    }

    /// Stores the first `count` (≤ 16) lanes of v at p.
    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, count: Int) {
        if count == width { return store(v, p) }
        for j in 0..<count { p[j] = v[j] }
    }

    /// max of p[0..<count] (count > 0).
    static func max(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var i = 0, result = -Float.infinity
        if count >= width {
            var m = load(p)
            i = width
            while i + width <= count {
                let v = load(p + i)
                m.replace(with: v, where: v .> m)
                i += width
            }
            result = m.max()
        }
        while i < count { result = Swift.max(result, p[i]); i += 1 }
        return result
    }

    /// Σ a[i]·b[i].
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Vector(), i = 0
        while i + width <= count { acc += load(a + i) * load(b + i); i += width }
        var result = acc.sum()
        while i < count { result += a[i] * b[i]; i += 1 }
        return result
    }

    /// p[i] = e^(p[i] − shift); returns Σ p[i] afterwards (the softmax denominator).
    static func expInPlace(_ p: UnsafeMutablePointer<Float>, count: Int, subtracting shift: Float) -> Float {
        var acc = Vector(), i = 0
        while i < count {
            let m = Swift.min(width, count - i)
            // Padding lanes get −∞ − shift, whose clamped exp (~1e-38) is far below F32 resolution of the sum.
            let e = exp(load(p + i, count: m, padding: -.infinity) - shift)
            store(e, p + i, count: m)
            acc += e
            i += m
        }
        return acc.sum()
    }

    /// Σ e^(p[i] − shift), leaving p unchanged.
    static func sumExp(_ p: UnsafePointer<Float>, count: Int, subtracting shift: Float) -> Float {
        var acc = Vector(), i = 0
        while i < count {
            let m = Swift.min(width, count - i)
            acc += exp(load(p + i, count: m, padding: -.infinity) - shift)
            i += m
        }
        return acc.sum()
    }
}
