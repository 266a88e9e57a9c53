import Foundation

/// Writes a prepared dataset directory atomically: everything goes to a hidden sibling directory, each
/// file is synced, and the directory is renamed into place; a failure leaves nothing at `directory`.
public enum PreparedDatasetWriter {
    /// Writes the splits, stats and preview to `directory`, filling in the manifest's file list.
    @discardableResult
    public static func write(to directory: URL, manifest: PreparedDatasetManifest, splits: [String: PreparedSplit],
                             stats: PreprocessingStats, preview: [PreparedExamplePreview]) throws -> PreparedDatasetManifest {
        var staged: StagedDirectory?
        do {
            let stage = try StagedDirectory(for: directory)
            staged = stage
            var manifest = manifest
            var files: [String: Int] = [:]
            func put(_ name: String, _ data: Data) throws {
                try stage.write(data, to: name)
                files[name] = data.count
            }
            for (name, split) in splits.sorted(by: { $0.key < $1.key }) {
                try put("\(name).tokens.i32", bytes(split.tokens))
                try put("\(name).labels.i32", bytes(split.labels))
                try put("\(name).positions.i32", bytes(split.positions))
                try put("\(name).examples.i64", bytes(split.exampleOffsets))
                try put("\(name).rows.i64", bytes(split.rowOffsets))
                try put("\(name).lines.i32", bytes(split.sourceLines))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            try put("stats.json", encoder.encode(stats))
            let lineEncoder = JSONEncoder()
            lineEncoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var previewData = Data()
            for p in preview { previewData += try lineEncoder.encode(p); previewData.append(0x0A) }
            try put("preview.jsonl", previewData)
            manifest.files = files
            try stage.write(try encoder.encode(manifest), to: "manifest.json")
            try stage.publish()
            return manifest
        } catch {
            staged?.discard()
            throw DatasetError("\(directory.path): cannot write the prepared dataset (\(error)); check the disk and permissions")
        }
    }

    private static func bytes<T: FixedWidthInteger>(_ values: [T]) -> Data {
        values.map(\.littleEndian).withUnsafeBytes { Data($0) }
    }
}
