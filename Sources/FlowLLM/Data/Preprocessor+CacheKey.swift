extension Preprocessor {
    /// The preprocessing cache key material: the prepared-data format version, every config field that
    /// changes the output, the tokenizer's content digest and the data digests. The engine hashes it.
    public func cacheKey(dataDigests: [String], rowLimit: Int? = nil) -> String {
        var lines = ["flow.prepared-dataset v\(PreparedDatasetManifest.currentFormatVersion)"]
        lines += config.preprocessingFingerprintFields().map { "\($0.0)=\($0.1)" }
        lines.append("tokenizer=\(tokenizer.contentDigest)")
        lines.append("data=\(dataDigests.joined(separator: ","))")
        if let rowLimit { lines.append("row_limit=\(rowLimit)") }
        return lines.joined(separator: "\n")
    }

    /// FNV-1a 64 of `text` in hex: a short, stable, non-cryptographic fingerprint for display.
    static func fingerprint(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
