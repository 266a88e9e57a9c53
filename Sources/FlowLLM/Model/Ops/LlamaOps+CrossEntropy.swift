import Foundation

extension LlamaOps {
    /// Per-position cross-entropy: losses[n] = logsumexp(logits[n]) − logits[n, targets[n]], 0 where target is -100.
    /// losses [N], logits [N, V], targets [N]
    static func crossEntropyForward(losses: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
                                    targets: UnsafePointer<Int32>, n: Int, vocab: Int) {
        for i in 0..<n {
            let t = Int(targets[i])
            guard t >= 0 else { losses[i] = 0; continue }
            let row = logits + i * vocab
            var maxValue = -Float.infinity
            for j in 0..<vocab where row[j] > maxValue { maxValue = row[j] }
            var sum: Float = 0
            for j in 0..<vocab { sum += expf(row[j] - maxValue) }
            losses[i] = logf(sum) + maxValue - row[t]
        }
    }

    /// In place, logits become dlogits = scale · (softmax(logits) − onehot(target)); rows with target -100 become 0.
    /// logits [N, V], targets [N]
    static func crossEntropyBackward(logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, scale: Float,
                                     n: Int, vocab: Int) {
        for i in 0..<n {
            let row = logits + i * vocab
            let t = Int(targets[i])
            guard t >= 0 else { row.update(repeating: 0, count: vocab); continue }
            var maxValue = -Float.infinity
            for j in 0..<vocab where row[j] > maxValue { maxValue = row[j] }
            var sum: Float = 0
            for j in 0..<vocab {
                let e = expf(row[j] - maxValue)
                row[j] = e
                sum += e
            }
            let inv = scale / sum
            for j in 0..<vocab { row[j] *= inv }
            row[t] -= scale
        }
    }
}
