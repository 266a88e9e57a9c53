import Foundation

/// Picks the next token from logits: greedy, or temperature → top-k → top-p (transformers' warper order)
/// and a draw from what is left. The draw uses `TensorRandom` (SplitMix64) seeded by the request, one
/// 53-bit uniform per token, so a seed reproduces the same tokens on every machine.
public struct TokenSampler: Sendable {
    /// The options it samples with.
    public let options: GenerationOptions
    private var random: TensorRandom
    private var candidates: [Int32] = []
    private var probabilities: [Float] = []

    /// A sampler for `options`, seeded by `options.seed` (or a fresh seed when nil).
    public init(options: GenerationOptions) {
        self.options = options
        random = TensorRandom(seed: options.seed ?? UInt64.random(in: .min ... .max))
    }

    /// The next token for `logits` [count] (left unchanged).
    public mutating func next(_ logits: UnsafePointer<Float>, count: Int) -> Int32 {
        if options.isGreedy { return Self.argmax(logits, count: count) }
        let inverseTemperature = 1 / options.temperature
        candidates.removeAll(keepingCapacity: true)
        probabilities.removeAll(keepingCapacity: true)
        // top-k: keep every token at least as likely as the k-th (ties kept, as in TopKLogitsWarper)
        var threshold = -Float.infinity
        if options.topK > 0 && options.topK < count {
            threshold = Self.kthLargest(logits, count: count, k: options.topK)
        }
        for i in 0..<count where logits[i] >= threshold { candidates.append(Int32(i)) }
        // most likely first; equal logits in id order, so the order (and the draw) is deterministic
        candidates.sort { logits[Int($0)] != logits[Int($1)] ? logits[Int($0)] > logits[Int($1)] : $0 < $1 }
        let top = logits[Int(candidates[0])] * inverseTemperature
        var sum: Double = 0
        for id in candidates {
            let p = Float(exp(Double(logits[Int(id)] * inverseTemperature - top)))
            probabilities.append(p)
            sum += Double(p)
        }
        // top-p: TopPLogitsWarper drops tokens whose ascending cumulative probability is ≤ 1 − top_p,
        // i.e. keeps the most likely prefix up to and including the token that reaches top_p
        var kept = candidates.count
        if options.topP < 1 {
            var cumulative: Double = 0
            let cut = Double(1 - options.topP) * sum
            for index in stride(from: candidates.count - 1, to: 0, by: -1) {
                cumulative += Double(probabilities[index])
                if cumulative > cut { break }
                kept = index
            }
        }
        var total: Double = 0
        for index in 0..<kept { total += Double(probabilities[index]) }
        let u = Double(random.next() >> 11) * 0x1p-53 * total
        var acc: Double = 0
        for index in 0..<kept {
            acc += Double(probabilities[index])
            if u < acc { return candidates[index] }
        }
        return candidates[kept - 1]
    }

    /// The first index of the largest value (torch.argmax's choice among ties).
    static func argmax(_ logits: UnsafePointer<Float>, count: Int) -> Int32 {
        var best = 0
        for i in 1..<max(count, 1) where logits[i] > logits[best] { best = i }
        return Int32(best)
    }

    /// The k-th largest of the values (1-based k ≤ count), by partial selection.
    static func kthLargest(_ values: UnsafePointer<Float>, count: Int, k: Int) -> Float {
        var heap = [Float]()  // the k largest so far, smallest first after sorting
        heap.reserveCapacity(k + 1)
        for i in 0..<count {
            let v = values[i]
            if heap.count < k {
                heap.append(v)
                if heap.count == k { heap.sort() }
            } else if v > heap[0] {
                // insert v keeping the array sorted, dropping the smallest
                var j = 0
                while j + 1 < k && heap[j + 1] < v { heap[j] = heap[j + 1]; j += 1 }
                heap[j] = v
            }
        }
        if heap.count < k { heap.sort() }
        return heap[0]
    }
}
