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

extension LlamaWeights {
    /// A copy of these weights with `adapter` merged into every adapted projection (PEFT's `merge_and_unload`) and
    /// its saved modules (`modules_to_save`) in place of the embedding and LM head; other tensors are shared, not
    /// copied. With saved modules a tied model comes out untied, as PEFT's copies are separate modules.
    public func merging(_ adapter: LoRAAdapter) -> LlamaWeights {
        var byName: [String: Tensor] = [:]
        for (l, layer) in layers.enumerated() {
            for p in LlamaProjection.allCases {
                byName["model.layers.\(l).\(p.modulePath).weight"] = adapter.mergedWeight(layer.projection(p), layer: l, p)
            }
        }
        var mergedConfig = config
        if !adapter.savedModules.isEmpty {
            byName[LoRASavedModule.embedTokens.baseName] = embeddingTable(with: adapter)
            byName[LoRASavedModule.lmHead.baseName] = lmHeadWeight(with: adapter)
            mergedConfig.tieWordEmbeddings = false
        }
        let original = Dictionary(uniqueKeysWithValues: namedTensors.map { ($0.name, $0.tensor) })
        return LlamaWeights(config: mergedConfig) { name, _ in byName[name] ?? original[name]! }
    }
}
