extension LlamaOps {
    /// out = x · Wᵀ  (a bias-free `nn.Linear`)
    /// out [N, out], x [N, in], weight [out, in]
    static func linearForward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              n: Int, inFeatures: Int, outFeatures: Int, threads: ComputeThreads) {
        GEMM.sgemm(threads: threads, transB: true, m: n, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: weight, ldb: inFeatures,
                   c: out, ldc: outFeatures)
    }

    /// dx (+)= dout · W  (accumulated when `accumulate`);  dweight += doutᵀ · x  (when given)
    /// dx [N, in], dweight [out, in], dout [N, out], x [N, in], weight [out, in]
    static func linearBackward(dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dweight: UnsafeMutablePointer<Float>?,
                               dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               n: Int, inFeatures: Int, outFeatures: Int, threads: ComputeThreads) {
        if let dx {
            GEMM.sgemm(threads: threads, m: n, n: inFeatures, k: outFeatures, a: dout, lda: outFeatures, b: weight, ldb: inFeatures,
                       beta: accumulate ? 1 : 0, c: dx, ldc: inFeatures)
        }
        if let dweight {
            GEMM.sgemm(threads: threads, transA: true, m: outFeatures, n: inFeatures, k: n, a: dout, lda: outFeatures, b: x, ldb: inFeatures,
                       beta: 1, c: dweight, ldc: inFeatures)
        }
    }
}
