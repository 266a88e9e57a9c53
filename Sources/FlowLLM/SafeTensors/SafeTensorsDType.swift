/// The element types a safetensors header may name; F32, F16 and BF16 convert to and from F32.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"
    case f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .f64, .i64, .u64: 8
        }
    }

    /// Whether this type converts to and from F32 here (the model's compute type).
    public var isFloatConvertible: Bool { self == .f32 || self == .f16 || self == .bf16 }
}

extension SafeTensorsDType {
    /// Decodes `count` elements at `source` (little-endian, any alignment) into F32.
    static func decode(_ dtype: SafeTensorsDType, from source: UnsafeRawPointer, count: Int,
                       into destination: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            for i in 0..<count {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = FloatConversion.float(bfloat16Bits: bits)
            }
        case .f16:
            for i in 0..<count {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = FloatConversion.float(float16Bits: bits)
            }
        default:
            preconditionFailure("decode called for \(dtype.rawValue); callers check isFloatConvertible")
        }
    }

    /// Encodes `count` F32 values into `dtype` (little-endian) at `destination`.
    static func encode(_ dtype: SafeTensorsDType, from source: UnsafePointer<Float>, count: Int,
                       into destination: UnsafeMutableRawPointer) {
        switch dtype {
        case .f32:
            destination.copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            for i in 0..<count {
                destination.storeBytes(of: FloatConversion.bfloat16Bits(source[i]).littleEndian,
                                       toByteOffset: 2 * i, as: UInt16.self)
            }
        case .f16:
            for i in 0..<count {
                destination.storeBytes(of: FloatConversion.float16Bits(source[i]).littleEndian,
                                       toByteOffset: 2 * i, as: UInt16.self)
            }
        default:
            preconditionFailure("encode called for \(dtype.rawValue); callers check isFloatConvertible")
        }
    }
}
