/// An open-addressing hash table from a token pair `(left, right)` to the merge's rank and resulting token id; the
/// merge loop looks pairs up constantly, so this avoids `Dictionary`'s SipHash.
struct BPEMergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// Sets the merge of `(left, right)`; a later duplicate replaces an earlier one, as in `tokenizers`.
    mutating func insert(_ left: Int32, _ right: Int32, rank: UInt32, newID: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let key = Self.key(left, right)
        var i = slot(key)
        while keys[i] != Self.empty && keys[i] != key { i = (i + 1) & mask }
        if keys[i] == Self.empty { count += 1 }
        keys[i] = key
        values[i] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: newID))
    }

    /// The rank and new id of merging `(left, right)`, or nil.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: UInt32, newID: Int32)? {
        let key = Self.key(left, right)
        var i = slot(key)
        while true {
            let stored = keys[i]
            if stored == key {
                let value = values[i]
                return (UInt32(value >> 32), Int32(bitPattern: UInt32(truncatingIfNeeded: value)))
            }
            if stored == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        keys = [UInt64](repeating: Self.empty, count: oldKeys.count * 2)
        values = [UInt64](repeating: 0, count: oldKeys.count * 2)
        mask = keys.count - 1
        count = 0
        for (key, value) in zip(oldKeys, oldValues) where key != Self.empty {
            insert(
                Int32(bitPattern: UInt32(key >> 32)), Int32(bitPattern: UInt32(truncatingIfNeeded: key)),
                rank: UInt32(value >> 32), newID: Int32(bitPattern: UInt32(truncatingIfNeeded: value)))
        }
    }
}
