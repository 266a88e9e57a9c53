extension LlamaModel {
    /// `forward(batch, training: true)` then `backward(lossScale:)`, with the batch's rows split over the model's
    /// threads: each part runs forward and backward on one thread in a replica (same weights and adapter, its own
    /// activations and gradients), side by side, and the replicas' gradients are then *added* into this model's
    /// in part order. A small model's products are too small to keep two cores busy when each is split by rows;
    /// whole rows per core keep each one's products as large as a one-thread step's.
    ///
    /// With one thread or one row this is `forward` then `backward` on this model. Results are deterministic for a
    /// given thread count; they differ from a one-thread step's in the last bits (the gradient sums are grouped by
    /// part). After a split step `logits` belongs to the replicas: this model's is not updated.
    /// - Parameters:
    ///   - lossScale: dLoss/d(per-position loss); default 1 / scored positions of `batch` (its mean loss).
    ///   - dropoutSeed: seeds LoRA dropout (each part's from it and the part's index); nil keeps the current generator.
    @discardableResult
    public func forwardBackward(_ batch: LlamaBatch, lossScale: Float? = nil, dropoutSeed: UInt64? = nil) throws -> LlamaLoss {
        let parts = min(threads.count, batch.rows)
        guard parts > 1 else {
            if let dropoutSeed { dropoutRandom = TensorRandom(seed: dropoutSeed) }
            let loss = try forward(batch, training: true)
            try backward(lossScale: lossScale)
            return loss
        }
        let scored = batch.trainedTokenCount
        let scale = lossScale ?? (scored > 0 ? 1 / Float(scored) : 0)
        while replicas.count < parts {
            replicas.append(LlamaModel(weights: weights, adapter: adapter, trainsBaseWeights: gradients != nil,
                                       threads: ComputeThreads(count: 1)))
        }
        let pieces = (0..<parts).map { p in batch.rows((batch.rows * p / parts)..<(batch.rows * (p + 1) / parts)) }
        var results = [Result<LlamaLoss, Error>](repeating: .failure(LlamaModelError("not run")), count: parts)
        results.withUnsafeMutableBufferPointer { out in
            let out = UncheckedResults(pointer: out.baseAddress!)
            threads.withSingleThreadedBLAS {
                threads.forEach(parts) { p in
                    let replica = replicas[p]
                    out.pointer[p] = Result {
                        replica.zeroGradients()
                        if let dropoutSeed {
                            replica.dropoutRandom = TensorRandom(seed: dropoutSeed ^ (UInt64(p + 1) &* 0x9E37_79B9_7F4A_7C15))
                        }
                        let loss = try replica.forward(pieces[p], training: true)
                        try replica.backward(lossScale: scale)
                        return loss
                    }
                }
            }
        }
        var total = LlamaLoss(sum: 0, count: 0, perSample: [])
        for result in results {
            let loss = try result.get()
            total.sum += loss.sum
            total.count += loss.count
            total.perSample += loss.perSample
        }
        let mine = trainableParameters
        for replica in replicas.prefix(parts) {
            for (target, part) in zip(mine, replica.trainableParameters) {
                let g = target.gradient.data, add = part.gradient.data
                for i in 0..<target.gradient.count { g[i] += add[i] }
            }
        }
        return total
    }
}

/// Each concurrent part writes only its own slot of the results buffer.
private struct UncheckedResults: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Result<LlamaLoss, Error>>
}
