import Crypto

/// SHA-256 of a tokenizer's content (or any bytes), for cache keys and prepared-data manifests.
struct TokenizerDigest {
    private var hasher = SHA256()

    mutating func update(_ bytes: some Sequence<UInt8>) {
        hasher.update(data: Array(bytes))
    }

    /// Adds `bytes` preceded by their length, so that consecutive fields cannot run into each other.
    mutating func updateField(_ bytes: [UInt8]) {
        var length = UInt64(bytes.count).bigEndian
        withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
        hasher.update(data: bytes)
    }

    /// Lowercase hexadecimal of the digest so far.
    func hexDigest() -> String {
        hasher.finalize().map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
        }.joined()
    }
}
