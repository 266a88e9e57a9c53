/// The merge-learning loop of BPE training: repeatedly merges the most frequent adjacent pair (ties to the smaller
/// pair of ids), updating pair counts only in the words that contain the merged pair.
struct BPEMergeLearner {
    private var words: [[Int32]]
    private let counts: [Int]
    private var pairCounts: [UInt64: Int] = [:]
    private var pairWords: [UInt64: [Int32]] = [:]

    init(words: [[Int32]], counts: [Int]) {
        self.words = words
        self.counts = counts
        for (index, word) in words.enumerated() where word.count > 1 {
            for i in 0..<(word.count - 1) {
                let pair = BPEMergeTable.key(word[i], word[i + 1])
                pairCounts[pair, default: 0] += counts[index]
                pairWords[pair, default: []].append(Int32(index))
            }
        }
    }

    /// Learns merges until `vocabulary` has `limit` entries or no pair occurs `minimumFrequency` times; appends each
    /// new token to `vocabulary` and returns the merges in order.
    mutating func learn(
        vocabulary: inout [String], idOfToken: inout [String: Int32], limit: Int,
        minimumFrequency: Int
    ) -> [(String, String)] {
        var heap = BPEPairHeap()
        for (pair, count) in pairCounts where count > 0 { heap.push(count: count, pair: pair) }
        var merges: [(String, String)] = []
        var lastVisit = [Int](repeating: -1, count: words.count)
        while vocabulary.count < limit, let (count, pair) = heap.pop() {
            let current = pairCounts[pair] ?? 0
            if count != current {
                if current > 0 { heap.push(count: current, pair: pair) }  // stale entry: requeue with its real count
                continue
            }
            if count < max(minimumFrequency, 1) { break }
            let left = Int32(truncatingIfNeeded: pair >> 32)
            let right = Int32(truncatingIfNeeded: pair & 0xFFFF_FFFF)
            let leftToken = vocabulary[Int(left)]
            let rightToken = vocabulary[Int(right)]
            let newToken = leftToken + rightToken
            let newID: Int32
            if let existing = idOfToken[newToken] {
                newID = existing
            } else {
                newID = Int32(vocabulary.count)
                idOfToken[newToken] = newID
                vocabulary.append(newToken)
            }
            merges.append((leftToken, rightToken))

            var touched: Set<UInt64> = []
            for wordIndex in pairWords[pair] ?? [] where lastVisit[Int(wordIndex)] != merges.count {
                lastVisit[Int(wordIndex)] = merges.count
                mergePair(in: Int(wordIndex), left, right, into: newID, touched: &touched)
            }
            pairCounts[pair] = 0
            pairWords[pair] = nil
            for changed in touched where changed != pair {
                if let changedCount = pairCounts[changed], changedCount > 0 {
                    heap.push(count: changedCount, pair: changed)
                }
            }
        }
        return merges
    }

    /// Replaces every `left right` in one word, left to right, and adjusts the counts of the neighbouring pairs.
    private mutating func mergePair(
        in index: Int, _ left: Int32, _ right: Int32, into newID: Int32,
        touched: inout Set<UInt64>
    ) {
        var word = words[index]
        let weight = counts[index]
        func adjust(_ a: Int32, _ b: Int32, _ delta: Int) {
            let pair = BPEMergeTable.key(a, b)
            pairCounts[pair, default: 0] += delta * weight
            if delta > 0 { pairWords[pair, default: []].append(Int32(index)) }
            touched.insert(pair)
        }
        var i = 0
        while i < word.count - 1 {
            if word[i] == left && word[i + 1] == right {
                if i > 0 {
                    adjust(word[i - 1], left, -1)
                    adjust(word[i - 1], newID, 1)
                }
                if i + 2 < word.count {
                    adjust(right, word[i + 2], -1)
                    adjust(newID, word[i + 2], 1)
                }
                word[i] = newID
                word.remove(at: i + 1)
            }
            i += 1
        }
        words[index] = word
    }
}

/// A max-heap of (count, pair): highest count first, then the smaller pair of ids, so training is deterministic.
struct BPEPairHeap {
    private var entries: [(count: Int, pair: UInt64)] = []

    private static func before(_ a: (count: Int, pair: UInt64), _ b: (count: Int, pair: UInt64)) -> Bool {
        a.count != b.count ? a.count > b.count : a.pair < b.pair
    }

    mutating func push(count: Int, pair: UInt64) {
        entries.append((count, pair))
        var i = entries.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !Self.before(entries[i], entries[parent]) { break }
            entries.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (count: Int, pair: UInt64)? {
        guard let top = entries.first else { return nil }
        let last = entries.removeLast()
        if entries.isEmpty { return top }
        entries[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var best = i
            if l < entries.count && Self.before(entries[l], entries[best]) { best = l }
            if r < entries.count && Self.before(entries[r], entries[best]) { best = r }
            if best == i { break }
            entries.swapAt(i, best)
            i = best
        }
        return top
    }
}
