import Foundation

/// Writes a prepared dataset directory atomically: everything goes to a hidden sibling directory, each
/// file is synced, and the directory is renamed into place; a failure leaves nothing at `directory`.
public enum PreparedDatasetWriter {
    /// Writes the splits, stats and preview to `directory`, filling in the manifest's file list.
    @discardableResult
    public static func write(to directory: URL, manifest: PreparedDatasetManifest, splits: [String: PreparedSplit],
                             stats: PreprocessingStats, preview: [PreparedExamplePreview]) throws -> PreparedDatasetManifest {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        let temp = parent.appendingPathComponent(".\(directory.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try fm.createDirectory(at: temp, withIntermediateDirectories: true)
            var manifest = manifest
            var files: [String: Int] = [:]
            func put(_ name: String, _ data: Data) throws {
                try writeSynced(data, to: temp.appendingPathComponent(name))
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
            try writeSynced(try encoder.encode(manifest), to: temp.appendingPathComponent("manifest.json"))
            try publish(temp, at: directory)
            return manifest
        } catch {
            try? fm.removeItem(at: temp)
            throw DatasetError("\(directory.path): cannot write the prepared dataset (\(error)); check the disk and permissions")
        }
    }

    /// Moves a finished directory into place, replacing an older one only once the new one is whole.
    private static func publish(_ temp: URL, at directory: URL) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory.path) {
            let old = temp.deletingLastPathComponent().appendingPathComponent(temp.lastPathComponent + ".old")
            try fm.moveItem(at: directory, to: old)
            try fm.moveItem(at: temp, to: directory)
            try? fm.removeItem(at: old)
        } else {
            try fm.moveItem(at: temp, to: directory)
        }
    }

    private static func writeSynced(_ data: Data, to url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw DatasetError("\(url.path): cannot create the file")
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.write(contentsOf: data)
        try handle.synchronize()
    }

    private static func bytes<T: FixedWidthInteger>(_ values: [T]) -> Data {
        values.map(\.littleEndian).withUnsafeBytes { Data($0) }
    }
}
