import COpenBLAS

/// Row-major matrix products through OpenBLAS `cblas_sgemm`; every matmul in the model goes through here.
public enum GEMM {
    /// `C[m,n] = alpha * op(A) * op(B) + beta * C`, all row-major; `op(X)` is `Xᵀ` when its flag is set.
    ///
    /// - Parameters:
    ///   - transA: use `Aᵀ`; A is then stored `[k, m]`, else `[m, k]`.
    ///   - transB: use `Bᵀ`; B is then stored `[n, k]`, else `[k, n]`.
    ///   - lda, ldb, ldc: row strides in elements (allow strided views such as one attention head).
    @inline(__always)
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // BLAS would leave C untouched when k == 0 only if beta == 1; do the scaling ourselves.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The same product with the rows of C split over `threads` (each piece a single-threaded sgemm).
    @inline(__always)
    public static func sgemm(
        threads: ComputeThreads, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // Rows of C are rows of A, or columns of A when it is transposed.
        threads.forRanges(m, minimum: 32) { rows in
            sgemm(transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: alpha,
                  a: a + (transA ? rows.lowerBound : rows.lowerBound * lda), lda: lda, b: b, ldb: ldb,
                  beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
        }
    }
}
