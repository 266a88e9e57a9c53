import Foundation

/// The BPE model of a `tokenizer.json`: vocabulary, ranked merges, and how characters missing from the vocabulary
/// are handled (`unk_token`, `fuse_unk`, `byte_fallback`).
struct BPEModel: Sendable {
    /// Token strings by id (empty where the vocabulary has a hole).
    let tokens: [String]
    /// Ids by token bytes (bytes, not `String`, because `String` equality treats canonically equivalent text as equal).
    let vocab: [[UInt8]: Int32]
    /// How many entries the vocabulary has (`get_vocab_size` in `tokenizers`).
    let vocabCount: Int
    let merges: BPEMergeTable
    let unkID: Int32?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// Whether words arrive as raw bytes that are spelled in the byte-level alphabet in the vocabulary.
    let byteLevel: Bool
    /// Byte-level mode: the id of each byte's character, or -1.
    private let byteIDs: [Int32]
    /// Unicode mode: ids of single-character tokens by scalar value.
    private let scalarIDs: [UInt32: Int32]
    /// `<0xNN>` token ids, or -1.
    private let fallbackIDs: [Int32]
    /// With `ignore_merges`: whole words found in the vocabulary, keyed by the bytes the model is given.
    private let wholeWordIDs: [[UInt8]: Int32]
    private let cache = BPEWordCache()

    init(
        vocab vocabStrings: [(String, Int32)], merges mergePairs: [(String, String)], unkToken: String?, fuseUnk: Bool,
        byteFallback: Bool, ignoreMerges: Bool, byteLevel: Bool, mergeError: (Int, String) -> TokenizerError
    ) throws {
        var vocab: [[UInt8]: Int32] = [:]
        vocab.reserveCapacity(vocabStrings.count)
        var maxID: Int32 = -1
        for (token, id) in vocabStrings {
            vocab[Array(token.utf8)] = id
            maxID = max(maxID, id)
        }
        var tokens = [String](repeating: "", count: Int(maxID) + 1)
        for (token, id) in vocabStrings where id >= 0 { tokens[Int(id)] = token }
        self.tokens = tokens
        self.vocab = vocab
        self.vocabCount = vocab.count
        self.unkID = unkToken.flatMap { vocab[Array($0.utf8)] }
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.byteLevel = byteLevel

        var table = BPEMergeTable(capacity: mergePairs.count)
        for (rank, (left, right)) in mergePairs.enumerated() {
            guard let leftID = vocab[Array(left.utf8)] else {
                throw mergeError(rank, "token `\(left)` is not in model.vocab; add it there or remove this merge")
            }
            guard let rightID = vocab[Array(right.utf8)] else {
                throw mergeError(rank, "token `\(right)` is not in model.vocab; add it there or remove this merge")
            }
            guard let newID = vocab[Array(left.utf8) + Array(right.utf8)] else {
                throw mergeError(
                    rank, "merged token `\(left)\(right)` is not in model.vocab; add it there or remove this merge")
            }
            table.insert(leftID, rightID, rank: UInt32(rank), newID: newID)
        }
        self.merges = table

        var byteIDs = [Int32](repeating: -1, count: 256)
        var scalarIDs: [UInt32: Int32] = [:]
        var wholeWordIDs: [[UInt8]: Int32] = [:]
        for (token, id) in vocabStrings {
            let scalars = token.unicodeScalars
            if scalars.count == 1, let scalar = scalars.first {
                scalarIDs[scalar.value] = id
                if byteLevel, let byte = ByteLevelAlphabet.byteForScalar[scalar.value] { byteIDs[Int(byte)] = id }
            }
            if ignoreMerges {
                if byteLevel {
                    if let raw = ByteLevelAlphabet.decode(token) { wholeWordIDs[raw] = id }
                } else {
                    wholeWordIDs[Array(token.utf8)] = id
                }
            }
        }
        var fallbackIDs = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            fallbackIDs[byte] = vocab[Array(String(format: "<0x%02X>", byte).utf8)] ?? -1
        }
        self.byteIDs = byteIDs
        self.scalarIDs = scalarIDs
        self.fallbackIDs = fallbackIDs
        self.wholeWordIDs = wholeWordIDs
    }

    func id(forToken token: String) -> Int32? { vocab[Array(token.utf8)] }

    func token(forID id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count, !tokens[Int(id)].isEmpty else { return nil }
        return tokens[Int(id)]
    }

    /// Appends the ids of one pre-tokenized word.
    func encodeWord(_ word: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        if word.isEmpty { return }
        // The cache holds final results, `ignore_merges` whole-word hits included, so it is consulted first.
        let key = BPEWordKey(word)
        if let key, let hit = cache.lookup(key) {
            ids.append(contentsOf: hit)
            return
        }
        var symbols: [Int32]
        if ignoreMerges, let id = wholeWordIDs[Array(word)] {
            symbols = [id]
        } else {
            symbols = initialSymbols(word)
            mergeAll(&symbols)
        }
        if let key { cache.store(key, symbols) }
        ids.append(contentsOf: symbols)
    }

    /// One symbol per character, with `byte_fallback` and (fused) unknown tokens as `tokenizers`' `merge_word` does.
    private func initialSymbols(_ word: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var pendingUnk = false  // an unknown character waits to be emitted (and maybe fused with the next one)
        var index = 0
        while index < word.count {
            var id: Int32 = -1
            var characterBytes: [UInt8] = []
            if byteLevel {
                let byte = word[index]
                id = byteIDs[Int(byte)]
                index += 1
                if id < 0 { characterBytes = Array(ByteLevelAlphabet.encode([byte]).utf8) }
            } else {
                let (scalar, length) = TokenizerUnicode.decode(word, at: index)
                id = scalarIDs[scalar] ?? -1
                if id < 0 { characterBytes = Array(word[index..<index + length]) }
                index += length
            }
            if id >= 0 {
                if pendingUnk, let unkID { symbols.append(unkID) }
                pendingUnk = false
                symbols.append(id)
                continue
            }
            if byteFallback {
                let fallback = characterBytes.map { fallbackIDs[Int($0)] }
                if !fallback.contains(-1) {
                    symbols.append(contentsOf: fallback)
                    continue
                }
            }
            if let unkID {
                if pendingUnk && !fuseUnk { symbols.append(unkID) }
                pendingUnk = true
            }
        }
        if pendingUnk, let unkID { symbols.append(unkID) }
        return symbols
    }

    /// Applies merges lowest rank first, leftmost first among equal ranks, as `tokenizers`' `Word::merge_all`.
    private func mergeAll(_ symbols: inout [Int32]) {
        let n = symbols.count
        if n < 2 { return }
        symbols.withUnsafeMutableBufferPointer { ids in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 * n) { links in
                withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 3 * n) { heapStorage in
                    var heap = BPEMergeHeap(storage: heapStorage)
                    for i in 0..<n {
                        links[i] = Int32(i - 1)  // previous
                        links[n + i] = Int32(i + 1)  // next (n = none)
                    }
                    for i in 0..<(n - 1) {
                        if let merge = merges.lookup(ids[i], ids[i + 1]) { heap.push(rank: merge.rank, position: i) }
                    }
                    while let (rank, position) = heap.pop() {
                        let left = ids[position]
                        if left < 0 { continue }
                        let next = Int(links[n + position])
                        if next >= n { continue }
                        guard let merge = merges.lookup(left, ids[next]), merge.rank == rank else { continue }
                        ids[position] = merge.newID
                        ids[next] = -1
                        let afterNext = Int(links[n + next])
                        links[n + position] = Int32(afterNext)
                        if afterNext < n { links[afterNext] = Int32(position) }
                        let previous = Int(links[position])
                        if previous >= 0, let pair = merges.lookup(ids[previous], merge.newID) {
                            heap.push(rank: pair.rank, position: previous)
                        }
                        if afterNext < n, let pair = merges.lookup(merge.newID, ids[afterNext]) {
                            heap.push(rank: pair.rank, position: position)
                        }
                    }
                }
            }
        }
        symbols.removeAll { $0 < 0 }
    }
}

/// A binary min-heap of (rank, position) packed in one integer, so ties in rank go to the leftmost pair.
struct BPEMergeHeap {
    private let storage: UnsafeMutableBufferPointer<UInt64>
    private var count = 0

    init(storage: UnsafeMutableBufferPointer<UInt64>) { self.storage = storage }

    mutating func push(rank: UInt32, position: Int) {
        var i = count
        storage[i] = UInt64(rank) << 32 | UInt64(position)
        count += 1
        while i > 0 {
            let parent = (i - 1) / 2
            if storage[parent] <= storage[i] { break }
            storage.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> (rank: UInt32, position: Int)? {
        guard count > 0 else { return nil }
        let top = storage[0]
        count -= 1
        storage[0] = storage[count]
        var i = 0
        while true {
            let left = 2 * i + 1
            let right = left + 1
            var smallest = i
            if left < count && storage[left] < storage[smallest] { smallest = left }
            if right < count && storage[right] < storage[smallest] { smallest = right }
            if smallest == i { break }
            storage.swapAt(smallest, i)
            i = smallest
        }
        return (UInt32(top >> 32), Int(top & 0xFFFF_FFFF))
    }
}

/// A word of at most 16 bytes packed into two integers: the cache key, built without allocating.
struct BPEWordKey: Hashable {
    let low: UInt64
    let high: UInt64

    init?(_ word: UnsafeBufferPointer<UInt8>) {
        guard word.count <= 15 else { return nil }
        var low: UInt64 = 0
        var high: UInt64 = UInt64(word.count) << 56
        for (i, byte) in word.enumerated() {
            if i < 8 { low |= UInt64(byte) << (8 * i) } else { high |= UInt64(byte) << (8 * (i - 8)) }
        }
        self.low = low
        self.high = high
    }
}

/// Word → ids, shared by all encodes (as `tokenizers` caches words); bounded so it cannot grow without limit.
final class BPEWordCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [BPEWordKey: [Int32]] = [:]
    private static let capacity = 100_000

    func lookup(_ key: BPEWordKey) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[key]
    }

    func store(_ key: BPEWordKey, _ ids: [Int32]) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[key] = ids
    }
}
