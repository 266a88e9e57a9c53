/// Conversions between F32 and the 16-bit float formats, bit-exact with PyTorch's `.to(torch.bfloat16)`
/// and `.to(torch.float16)` (round to nearest, ties to even; NaN becomes a quiet NaN).
public enum FloatConversion {
    /// The BF16 bit pattern nearest to `value` (torch's `c10::BFloat16` rounding).
    @inline(__always)
    public static func bfloat16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        let roundingBias = ((bits >> 16) & 1) &+ 0x7FFF
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// The F32 value of a BF16 bit pattern (exact).
    @inline(__always)
    public static func float(bfloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// The F16 bit pattern nearest to `value`; overflow gives infinity, NaN gives 0x7E00.
    ///
    /// Written out (after F. Giesen's `float_to_half_fast3_rtne`) rather than using `Float16`,
    /// which is missing on some platforms.
    @inline(__always)
    public static func float16Bits(_ value: Float) -> UInt16 {
        var u = value.bitPattern
        let sign = u & 0x8000_0000
        u ^= sign
        var out: UInt32
        if u >= (127 + 16) << 23 {
            // Inf or NaN (all exponent bits set): anything from 65536 up is out of range.
            out = u > 255 << 23 ? 0x7E00 : 0x7C00
        } else if u < 113 << 23 {
            // Subnormal or zero in F16: adding a magic float aligns the 10 mantissa bits at the bottom,
            // and the FPU's own round-to-nearest-even does the rounding.
            let magicBits: UInt32 = ((127 - 15) + (23 - 10) + 1) << 23
            let sum = Float(bitPattern: u) + Float(bitPattern: magicBits)
            out = sum.bitPattern &- magicBits
        } else {
            let mantissaOdd = (u >> 13) & 1
            u = u &+ (UInt32(bitPattern: Int32(15 - 127) << 23)) &+ 0xFFF
            u = u &+ mantissaOdd
            out = u >> 13
        }
        return UInt16(truncatingIfNeeded: out | (sign >> 16))
    }

    /// The F32 value of an F16 bit pattern (exact).
    @inline(__always)
    public static func float(float16Bits bits: UInt16) -> Float {
        let h = UInt32(bits)
        let shiftedExponent: UInt32 = 0x7C00 << 13
        var o = (h & 0x7FFF) << 13
        let exponent = shiftedExponent & o
        o = o &+ ((127 - 15) << 23)
        var result: Float
        if exponent == shiftedExponent {
            o = o &+ ((128 - 16) << 23)  // Inf/NaN keep an all-ones exponent
            result = Float(bitPattern: o)
        } else if exponent == 0 {
            o = o &+ (1 << 23)  // subnormal: renormalise through a float subtraction
            result = Float(bitPattern: o) - Float(bitPattern: 113 << 23)
        } else {
            result = Float(bitPattern: o)
        }
        return Float(bitPattern: result.bitPattern | ((h & 0x8000) << 16))
    }
}
