import Foundation

/// Collects named tensors and writes them as one safetensors file or as HF-style shards with an index.
///
/// Tensors are held by reference and converted (F32 → F16/BF16) chunk by chunk while writing, so a
/// checkpoint is never duplicated in memory.
public struct SafeTensorsWriter {
    /// The `__metadata__` string map written into every file (e.g. `["format": "pt"]`).
    public var metadata: [String: String]

    private enum Payload {
        case floats(Tensor)
        case raw([UInt8])
    }

    private struct Entry {
        var name: String
        var dtype: SafeTensorsDType
        var shape: [Int]
        var payload: Payload
        var byteCount: Int { shape.reduce(1, *) * dtype.byteSize }
    }

    private var entries: [Entry] = []
    private var names: Set<String> = []

    /// An empty writer with the given metadata.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// The total bytes of tensor data added so far.
    public var totalByteCount: Int { entries.reduce(0) { $0 + $1.byteCount } }

    /// Adds `tensor` under `name`, stored as `dtype` (F32, F16 or BF16).
    public mutating func add(_ name: String, _ tensor: Tensor, as dtype: SafeTensorsDType = .f32) throws {
        guard dtype.isFloatConvertible else {
            throw SafeTensorsError(.unsupportedDType, file: "(writer)", tensor: name, "cannot store floats as \(dtype.rawValue); use F32, F16 or BF16")
        }
        try insert(Entry(name: name, dtype: dtype, shape: tensor.shape, payload: .floats(tensor)))
    }

    /// Adds already-encoded little-endian bytes (any dtype) under `name`.
    public mutating func add(_ name: String, rawBytes: [UInt8], dtype: SafeTensorsDType, shape: [Int]) throws {
        let entry = Entry(name: name, dtype: dtype, shape: shape, payload: .raw(rawBytes))
        guard entry.byteCount == rawBytes.count else {
            throw SafeTensorsError(.invalidTensor, file: "(writer)", tensor: name,
                                   "\(rawBytes.count) bytes given but shape \(shape) of \(dtype.rawValue) needs \(entry.byteCount)")
        }
        try insert(entry)
    }

    private mutating func insert(_ entry: Entry) throws {
        guard entry.name != "__metadata__", names.insert(entry.name).inserted else {
            throw SafeTensorsError(.invalidTensor, file: "(writer)", tensor: entry.name, "name used twice or reserved")
        }
        entries.append(entry)
    }

    /// Writes every tensor into one file at `url` (atomically: a temporary file renamed into place).
    public func write(to url: URL) throws {
        try Self.writeFile(entries, metadata: metadata, to: url)
    }

    /// Writes shards of at most `maxShardBytes` of tensor data each into `directory`, as Hugging Face does:
    /// `model.safetensors` alone when everything fits, else `model-0000i-of-0000n.safetensors` plus
    /// `model.safetensors.index.json` whose `metadata.total_size` is the data size in bytes.
    /// - Returns: the files written (shards, then the index when there is one).
    @discardableResult
    public func writeSharded(directory: URL, baseName: String = "model", maxShardBytes: Int) throws -> [URL] {
        var shards: [[Entry]] = [[]]
        var shardBytes = 0
        for entry in entries {
            // A tensor larger than the limit gets a shard of its own, as in transformers.
            if shardBytes > 0, shardBytes + entry.byteCount > maxShardBytes {
                shards.append([])
                shardBytes = 0
            }
            shards[shards.count - 1].append(entry)
            shardBytes += entry.byteCount
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if shards.count == 1 {
            let url = directory.appendingPathComponent("\(baseName).safetensors")
            try Self.writeFile(shards[0], metadata: metadata, to: url)
            return [url]
        }
        var written: [URL] = []
        var weightMap: [String: String] = [:]
        for (i, shard) in shards.enumerated() {
            let fileName = String(format: "%@-%05d-of-%05d.safetensors", baseName, i + 1, shards.count)
            let url = directory.appendingPathComponent(fileName)
            try Self.writeFile(shard, metadata: metadata, to: url)
            for entry in shard { weightMap[entry.name] = fileName }
            written.append(url)
        }
        var index = "{\n  \"metadata\": {\n    \"total_size\": \(totalByteCount)\n  },\n  \"weight_map\": {\n"
        index += weightMap.keys.sorted().map { "    \(Self.jsonLiteral($0)): \(Self.jsonLiteral(weightMap[$0]!))" }.joined(separator: ",\n")
        index += "\n  }\n}\n"
        let indexURL = directory.appendingPathComponent("\(baseName).safetensors.index.json")
        try Data(index.utf8).write(to: indexURL, options: .atomic)
        written.append(indexURL)
        return written
    }

    private static func writeFile(_ entries: [Entry], metadata: [String: String], to url: URL) throws {
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(Self.jsonLiteral($0)):\(Self.jsonLiteral(metadata[$0]!))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for entry in entries {
            let shape = entry.shape.map(String.init).joined(separator: ",")
            fields.append("\(Self.jsonLiteral(entry.name)):{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + entry.byteCount)]}")
            offset += entry.byteCount
        }
        var header = Array("{\(fields.joined(separator: ","))}".utf8)
        // Pad with spaces so the data section starts 8-byte aligned (8 + header length ≡ 0 mod 8).
        while header.count % 8 != 0 { header.append(0x20) }

        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw SafeTensorsError(.io, file: url.path, "cannot create \(temporary.path); does the directory exist and is it writable?")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            var length = UInt64(header.count).littleEndian
            try handle.write(contentsOf: Data(bytes: &length, count: 8))
            try handle.write(contentsOf: header)
            for entry in entries { try writePayload(entry, to: handle) }
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw SafeTensorsError(.io, file: url.path, tensor: nil, "write failed: \(error)")
        }
        if rename(temporary.path, url.path) != 0 {
            try? FileManager.default.removeItem(at: temporary)
            throw SafeTensorsError(.io, file: url.path, "cannot move the written file into place: \(String(cString: strerror(errno)))")
        }
    }

    private static func writePayload(_ entry: Entry, to handle: FileHandle) throws {
        switch entry.payload {
        case .raw(let bytes):
            try handle.write(contentsOf: bytes)
        case .floats(let tensor):
            let chunk = 1 << 18  // elements per write: bounded scratch memory for any tensor size
            var scratch = Data(count: chunk * entry.dtype.byteSize)
            var start = 0
            while start < tensor.count {
                let n = min(chunk, tensor.count - start)
                scratch.withUnsafeMutableBytes { raw in
                    SafeTensorsDType.encode(entry.dtype, from: tensor.data + start, count: n, into: raw.baseAddress!)
                }
                try handle.write(contentsOf: scratch.prefix(n * entry.dtype.byteSize))
                start += n
            }
        }
    }
}

extension SafeTensorsWriter {
    /// A JSON string literal for `text` (quotes, backslashes and control characters escaped).
    static func jsonLiteral(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
