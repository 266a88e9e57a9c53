extension LoRAAdapter {
    /// W + scaling · B·A for one projection, computed in F32 (PEFT's merge); `base` is not modified.
    /// - Returns: the merged weight [out, in], or a copy of `base` when the projection has no adapter.
    public func mergedWeight(_ base: Tensor, layer: Int, _ projection: LlamaProjection) -> Tensor {
        let merged = base.copy()
        guard let pair = pair(layer: layer, projection) else { return merged }
        let (out, inFeatures) = projection.shape(modelConfig)
        // merged[out, in] += scaling · B[out, r] · A[r, in]
        GEMM.sgemm(m: out, n: inFeatures, k: config.rank, alpha: config.scaling, a: pair.b.data, lda: config.rank,
                   b: pair.a.data, ldb: inFeatures, beta: 1, c: merged.data, ldc: inFeatures)
        return merged
    }
}
