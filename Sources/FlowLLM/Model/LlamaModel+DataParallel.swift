extension LlamaModel {
    /// `forward(batch, training: true)` then `backward(lossScale:)`, with the batch's rows split over the model's
    /// threads: each part runs forward and backward in a replica (same weights and adapter, its own activations and
    /// gradients) on its share of the threads, side by side, and the replicas' gradients are then *added* into this
    /// model's, in part order. A small model's products are too small to keep two cores busy when each is split by
    /// rows; whole rows per core keep each one's products as large as a one-thread step's.
    ///
    /// With one thread or one row this is `forward` then `backward` on this model. With fewer rows than threads,
    /// each of the `rows` parts splits its operations over `threads / rows` threads. Results are deterministic for
    /// a given thread count. Without LoRA dropout they differ from a one-thread step's in the last bits (the
    /// gradient sums are grouped by part); with dropout each part draws its own masks, so they differ more. After a
    /// split step `logits` belongs to the replicas: this model's is not updated. Each replica keeps a gradient buffer
    /// as large as this model's trainable parameters (all base weights when fine-tuning fully).
    /// - Parameters:
    ///   - lossScale: dLoss/d(per-position loss); default 1 / scored positions of `batch` (its mean loss).
    ///   - dropoutSeed: seeds LoRA dropout (each part's generator is derived from it and the part's index); nil draws
    ///     the parts' seeds from this model's generator.
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
        let perPart = threads.count / parts
        if replicas.first?.threads.count != perPart { replicas = [] }
        while replicas.count < parts {
            replicas.append(LlamaModel(weights: weights, adapter: adapter, trainsBaseWeights: gradients != nil,
                                       threads: ComputeThreads(count: perPart)))
        }
        var seeds = TensorRandom(seed: dropoutSeed ?? dropoutRandom.next())
        for replica in replicas.prefix(parts) { replica.dropoutRandom = TensorRandom(seed: seeds.next()) }
        let pieces = (0..<parts).map { p in batch.rows((batch.rows * p / parts)..<(batch.rows * (p + 1) / parts)) }
        var results = [Result<LlamaLoss, Error>](repeating: .failure(LlamaModelError("not run")), count: parts)
        results.withUnsafeMutableBufferPointer { buffer in
            let out = UncheckedResults(pointer: buffer.baseAddress!)
            threads.withSingleThreadedBLAS {
                threads.forEach(parts) { p in
                    let replica = replicas[p]
                    out.pointer[p] = Result {
                        replica.zeroGradients()
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
        // each element sums the parts in part order, however the elements are split over the threads
        let sources = replicas.prefix(parts).map(\.trainableParameters)
        for (index, target) in trainableParameters.enumerated() {
            let g = target.gradient.data
            let adds = sources.map { $0[index].gradient.data }
            threads.forRanges(target.gradient.count, minimum: 1 << 15) { range in
                for add in adds { for i in range { g[i] += add[i] } }
            }
        }
        return total
    }
}

/// Each concurrent part writes only its own slot of the results buffer.
private struct UncheckedResults: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Result<LlamaLoss, Error>>
}
