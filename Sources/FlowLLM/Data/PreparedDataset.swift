import Foundation

/// A prepared dataset directory, read back for training.
///
/// Layout (all integers little-endian): `manifest.json`, `stats.json`, `preview.jsonl`, and for each split
/// present (`train`, `eval`): `<split>.tokens.i32`, `<split>.labels.i32`, `<split>.positions.i32` (one
/// value per token), `<split>.examples.i64` (example start offsets, plus the token count),
/// `<split>.rows.i64` (row start offsets, plus the token count), `<split>.lines.i32` (source line per example).
public struct PreparedDataset: Sendable {
    /// The directory.
    public let directory: URL
    /// Its manifest.
    public let manifest: PreparedDatasetManifest
    /// The splits present, by name.
    public let splits: [String: PreparedSplit]

    /// Reads and checks the directory: format version, file sizes and offsets.
    public init(directory: URL) throws {
        self.directory = directory
        let manifestURL = directory.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: manifestURL) else {
            throw DatasetError("\(manifestURL.path): no manifest; the directory is not a prepared dataset (run preprocess first)")
        }
        let manifest: PreparedDatasetManifest
        do { manifest = try JSONDecoder().decode(PreparedDatasetManifest.self, from: data) } catch {
            throw DatasetError("\(manifestURL.path): unreadable manifest (\(error)); prepare the data again")
        }
        guard manifest.formatVersion == PreparedDatasetManifest.currentFormatVersion else {
            throw DatasetError("\(manifestURL.path): format version \(manifest.formatVersion), this flow reads \(PreparedDatasetManifest.currentFormatVersion); prepare the data again")
        }
        self.manifest = manifest
        var splits: [String: PreparedSplit] = [:]
        for name in manifest.splits.keys.sorted() {
            splits[name] = try Self.readSplit(name, in: directory)
        }
        self.splits = splits
    }

    /// The training split (empty when absent).
    public var train: PreparedSplit { splits["train"] ?? PreparedSplit() }
    /// The evaluation split (empty when absent).
    public var eval: PreparedSplit { splits["eval"] ?? PreparedSplit() }

    /// The rows of split `name` in `order` (default: stored order) as batches of `batchSize`, padded to
    /// `sequence_len` when the manifest says `pad_to_sequence_len`, else to each batch's longest row.
    public func batches(of name: String, batchSize: Int, order: [Int]? = nil) -> [PreparedBatch] {
        let split = splits[name] ?? PreparedSplit()
        let rows = order ?? Array(0..<split.rowCount)
        let padTo = manifest.padToSequenceLen ? manifest.sequenceLen : nil
        let padID = manifest.padTokenID ?? manifest.eosTokenID ?? 0
        return stride(from: 0, to: rows.count, by: max(batchSize, 1)).map {
            split.batch(rows: Array(rows[$0..<min($0 + max(batchSize, 1), rows.count)]), padTo: padTo, padID: padID)
        }
    }

    private static func readSplit(_ name: String, in directory: URL) throws -> PreparedSplit {
        var split = PreparedSplit()
        split.tokens = try readArray(directory, "\(name).tokens.i32", as: Int32.self)
        split.labels = try readArray(directory, "\(name).labels.i32", as: Int32.self)
        split.positions = try readArray(directory, "\(name).positions.i32", as: Int32.self)
        split.exampleOffsets = try readArray(directory, "\(name).examples.i64", as: Int64.self)
        split.rowOffsets = try readArray(directory, "\(name).rows.i64", as: Int64.self)
        split.sourceLines = try readArray(directory, "\(name).lines.i32", as: Int32.self)
        let n = Int64(split.tokens.count)
        let consistent = split.labels.count == split.tokens.count && split.positions.count == split.tokens.count
            && split.exampleOffsets.first == 0 && split.exampleOffsets.last == n
            && split.rowOffsets.first == 0 && split.rowOffsets.last == n
            && zip(split.exampleOffsets, split.exampleOffsets.dropFirst()).allSatisfy { $0 <= $1 }
            && zip(split.rowOffsets, split.rowOffsets.dropFirst()).allSatisfy { $0 <= $1 }
            && split.sourceLines.count == split.exampleCount
        guard consistent else {
            throw DatasetError("\(directory.path): split `\(name)` has inconsistent arrays (truncated or mixed files); prepare the data again")
        }
        return split
    }

    private static func readArray<T: FixedWidthInteger>(_ directory: URL, _ file: String, as: T.Type) throws -> [T] {
        let url = directory.appendingPathComponent(file)
        guard let data = try? Data(contentsOf: url) else { throw DatasetError("\(url.path): missing; prepare the data again") }
        guard data.count % MemoryLayout<T>.size == 0 else {
            throw DatasetError("\(url.path): \(data.count) bytes is not a whole number of \(MemoryLayout<T>.size)-byte values; prepare the data again")
        }
        var values = [T](repeating: 0, count: data.count / MemoryLayout<T>.size)
        _ = values.withUnsafeMutableBytes { data.copyBytes(to: $0) }
        return values.map { T(littleEndian: $0) }
    }
}
