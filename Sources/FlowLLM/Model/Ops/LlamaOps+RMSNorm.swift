extension LlamaOps {
    /// y = weight * x / sqrt(mean(x²) + eps), per row, as Hugging Face's `LlamaRMSNorm` (in F32).
    /// out [N, D], rstd [N] (saved for backward), x [N, D], weight [D]
    static func rmsNormForward(out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, n: Int, d: Int, eps: Float, threads: ComputeThreads) {
        threads.forRanges(n, minimum: 64) { rows in
            for i in rows {
                let row = x + i * d, o = out + i * d
                let r = 1 / (VectorMath.dot(row, row, count: d) / Float(d) + eps).squareRoot()
                rstd[i] = r
                for j in 0..<d { o[j] = weight[j] * (row[j] * r) }
            }
        }
    }

    /// dx += rstd * (w ⊙ dy) − x * rstd³ / D * Σ(w ⊙ dy ⊙ x);  dweight += Σ_rows dy ⊙ x * rstd
    /// dx [N, D] (accumulated), dweight [D] (accumulated, optional), dout [N, D], x [N, D], weight [D], rstd [N]
    static func rmsNormBackward(dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                x: UnsafePointer<Float>, weight: UnsafePointer<Float>, rstd: UnsafePointer<Float>, n: Int, d: Int,
                                threads: ComputeThreads) {
        threads.forRanges(n, minimum: 64) { rows in
            for i in rows {
                let row = x + i * d, g = dout + i * d, dr = dx + i * d
                let r = rstd[i]
                var dot: Float = 0
                for j in 0..<d { dot += weight[j] * g[j] * row[j] }  // D is small; the matmuls dominate
                let c = dot * r * r * r / Float(d)
                for j in 0..<d { dr[j] += r * weight[j] * g[j] - c * row[j] }
            }
        }
        // The weight gradient sums over rows: one thread, so no two threads add into the same entry.
        if let dweight {
            for i in 0..<n {
                let row = x + i * d, g = dout + i * d, r = rstd[i]
                for j in 0..<d { dweight[j] += g[j] * row[j] * r }
            }
        }
    }
}
