import Foundation

extension LlamaOps {
    /// Per-position cross-entropy: losses[n] = logsumexp(logits[n]) − logits[n, targets[n]], 0 where target is -100.
    /// losses [N], logits [N, V], targets [N]
    static func crossEntropyForward(losses: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
                                    targets: UnsafePointer<Int32>, n: Int, vocab: Int, threads: ComputeThreads) {
        threads.forRanges(n, minimum: 16) { rows in
            for i in rows {
                let t = Int(targets[i])
                guard t >= 0 else { losses[i] = 0; continue }
                let row = logits + i * vocab
                let maxValue = VectorMath.max(row, count: vocab)
                losses[i] = logf(VectorMath.sumExp(row, count: vocab, subtracting: maxValue)) + maxValue - row[t]
            }
        }
    }

    /// In place, logits become dlogits = scale · (softmax(logits) − onehot(target)); rows with target -100 become 0.
    /// logits [N, V], targets [N]
    static func crossEntropyBackward(logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, scale: Float,
                                     n: Int, vocab: Int, threads: ComputeThreads) {
        threads.forRanges(n, minimum: 16) { rows in
            for i in rows {
                let row = logits + i * vocab
                let t = Int(targets[i])
                guard t >= 0 else { row.update(repeating: 0, count: vocab); continue }
                let sum = VectorMath.expInPlace(row, count: vocab, subtracting: VectorMath.max(row, count: vocab))
                let inv = scale / sum
                for j in 0..<vocab { row[j] *= inv }
                row[t] -= scale
            }
        }
    }
}
