import Foundation

/// How a `GenerationModel` stores the weights it streams every token.
public enum GenerationWeightPrecision: String, Sendable {
    /// The checkpoint's F32 values (bit-for-bit transformers' F32 forward, up to summation order).
    case float32
    /// Projections and the LM head rounded to BF16 (as torch's `.to(torch.bfloat16)`), products accumulated in F32:
    /// half the bytes per token, so about twice the decode speed where decoding is memory-bound.
    case bfloat16
}

/// A weight matrix [rows, columns] rounded to BF16, with the matrix–vector and matrix–matrix products decoding
/// needs. Rows are independent, so callers split `rows` over threads.
final class GenerationBFloat16Matrix: @unchecked Sendable {
    let rows: Int
    let columns: Int
    let data: UnsafeMutablePointer<UInt16>

    /// `tensor` [rows, columns] rounded to nearest BF16, ties to even.
    init(_ tensor: Tensor) {
        rows = tensor.shape[0]
        columns = tensor.count / max(rows, 1)
        data = .allocate(capacity: max(tensor.count, 1))
        for i in 0..<tensor.count { data[i] = FloatConversion.bfloat16Bits(tensor.data[i]) }
    }

    deinit { data.deallocate() }

    /// out[r] = Σ_k W[r, k]·x[k] for r in `rowRange` (out indexed from `rowRange.lowerBound`, like x·Wᵀ).
    func multiply(vector x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, rows rowRange: Range<Int>) {
        multiply(vectors: x, n: 1, into: out, ldc: rows, rows: rowRange)
    }

    /// out[j, r] (rows `ldc` apart) = W[r]·x[j] for r in `rowRange`, j < n: each row is read from memory once and
    /// widened for all n inputs while it sits in cache (a few decode rows; `multiply(matrix:)` suits long prompts).
    func multiply(vectors x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, ldc: Int,
                  rows rowRange: Range<Int>) {
        typealias V = VectorMath
        let k = columns
        for r in rowRange {
            let row = data + r * k
            for j in 0..<n {
                let v = x + j * k
                var acc0 = V.Vector(), acc1 = V.Vector()
                var i = 0
                while i + 32 <= k {
                    acc0 += Self.widen(row + i) * V.load(v + i)
                    acc1 += Self.widen(row + i + 16) * V.load(v + i + 16)
                    i += 32
                }
                while i + 16 <= k {
                    acc0 += Self.widen(row + i) * V.load(v + i)
                    i += 16
                }
                var sum = (acc0 + acc1).sum()
                while i < k {
                    sum += FloatConversion.float(bfloat16Bits: row[i]) * v[i]
                    i += 1
                }
                out[j * ldc + r] = sum
            }
        }
    }

    /// out[n, rowRange] (rows `ldc` apart) = x[n, columns] · W[rowRange]ᵀ: tiles of W widened to F32, then sgemm
    /// (a prefill reads each weight once for all n prompt tokens).
    func multiply(matrix x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, ldc: Int,
                  rows rowRange: Range<Int>) {
        let tileRows = 64, k = columns
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * k)
        defer { tile.deallocate() }
        var start = rowRange.lowerBound
        while start < rowRange.upperBound {
            let count = min(tileRows, rowRange.upperBound - start)
            for i in 0..<(count * k) { tile[i] = FloatConversion.float(bfloat16Bits: data[start * k + i]) }
            GEMM.sgemm(transB: true, m: n, n: count, k: k, a: x, lda: k, b: tile, ldb: k, c: out + start, ldc: ldc)
            start += count
        }
    }

    /// 16 BF16 values as F32: the bits shifted into the upper half.
    @inline(__always)
    private static func widen(_ p: UnsafePointer<UInt16>) -> VectorMath.Vector {
        let half = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt16>.self)
        return unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: half) &<< 16, to: VectorMath.Vector.self)
    }
}
