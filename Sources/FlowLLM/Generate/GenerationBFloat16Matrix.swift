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
        typealias V = VectorMath
        let k = columns
        for r in rowRange {
            let row = data + r * k
            var acc0 = V.Vector(), acc1 = V.Vector()
            var i = 0
            while i + 32 <= k {
                acc0 += Self.widen(row + i) * V.load(x + i)
                acc1 += Self.widen(row + i + 16) * V.load(x + i + 16)
                i += 32
            }
            while i + 16 <= k {
                acc0 += Self.widen(row + i) * V.load(x + i)
                i += 16
            }
            var sum = (acc0 + acc1).sum()
            while i < k {
                sum += FloatConversion.float(bfloat16Bits: row[i]) * x[i]
                i += 1
            }
            out[r] = sum
        }
    }

    /// out[n, rowRange] (rows `ldc` apart) = x[n, columns] · W[rowRange]ᵀ: tiles of W widened to F32, then sgemm
    /// (a prefill, or a pass over several decoding requests, reads each weight once for all n rows).
    func multiply(matrix x: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, ldc: Int,
                  rows rowRange: Range<Int>) {
        let tileRows = GenerationModel.tileRows, k = columns
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * k)
        defer { tile.deallocate() }
        var start = rowRange.lowerBound
        while start < rowRange.upperBound {
            let count = min(tileRows, rowRange.upperBound - start)
            widen(rows: start..<(start + count), into: tile)
            if n <= GenerationModel.fewRows {
                GenerationModel.multiply(weight: tile, rows: count, columns: k, x: x, n: n, into: out + start, ldc: ldc)
            } else {
                GEMM.sgemm(transB: true, m: n, n: count, k: k, a: x, lda: k, b: tile, ldb: k, c: out + start, ldc: ldc)
            }
            start += count
        }
    }

    /// Rows `rows` as F32 into `tile` [rows.count, columns].
    private func widen(rows: Range<Int>, into tile: UnsafeMutablePointer<Float>) {
        let k = columns, from = data + rows.lowerBound * k
        for i in 0..<(rows.count * k) { tile[i] = FloatConversion.float(bfloat16Bits: from[i]) }
    }

    /// 16 BF16 values as F32: the bits shifted into the upper half.
    @inline(__always)
    private static func widen(_ p: UnsafePointer<UInt16>) -> VectorMath.Vector {
        let half = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt16>.self)
        return unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: half) &<< 16, to: VectorMath.Vector.self)
    }
}
