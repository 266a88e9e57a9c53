import Foundation

/// A checkpoint directory in Hugging Face layout: `model.safetensors.index.json` plus shards, or one
/// `model.safetensors`. Tensors are read by name from whichever shard holds them.
public final class ShardedSafeTensors: SafeTensorsSource, @unchecked Sendable {
    /// The shard files, in index order.
    public let files: [SafeTensorsFile]
    private let fileByTensor: [String: SafeTensorsFile]

    /// Opens the checkpoint in `directory`: the index `\(baseName).safetensors.index.json` when present,
    /// else the single file `\(baseName).safetensors`.
    public convenience init(directory: URL, baseName: String = "model") throws {
        let index = directory.appendingPathComponent("\(baseName).safetensors.index.json")
        if FileManager.default.fileExists(atPath: index.path) {
            try self.init(indexURL: index)
        } else {
            let single = directory.appendingPathComponent("\(baseName).safetensors")
            guard FileManager.default.fileExists(atPath: single.path) else {
                throw SafeTensorsError(.io, file: directory.path,
                                       "neither \(baseName).safetensors nor \(baseName).safetensors.index.json is here; is this a Hugging Face checkpoint directory?")
            }
            try self.init(files: [SafeTensorsFile(url: single)])
        }
    }

    /// Opens the shards named by the `weight_map` of the index at `indexURL` and checks that every mapped
    /// tensor is in the shard the index names.
    public convenience init(indexURL: URL) throws {
        let path = indexURL.path
        let data: Data
        do { data = try Data(contentsOf: indexURL) } catch {
            throw SafeTensorsError(.io, file: path, "cannot read the shard index: \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let weightMap = object["weight_map"] as? [String: String]
        else {
            throw SafeTensorsError(.invalidIndex, file: path, "expected JSON with a \"weight_map\" object mapping tensor names to shard file names")
        }
        var shardNames: [String] = []
        for name in weightMap.values.sorted() where shardNames.last != name { shardNames.append(name) }
        var files: [SafeTensorsFile] = []
        for shardName in shardNames {
            guard !shardName.contains("/"), shardName != "..", !shardName.isEmpty else {
                throw SafeTensorsError(.invalidIndex, file: path, "shard name \"\(shardName)\" must be a plain file name in the index's directory")
            }
            files.append(try SafeTensorsFile(url: indexURL.deletingLastPathComponent().appendingPathComponent(shardName)))
        }
        try self.init(files: files)
        for (tensor, shardName) in weightMap.sorted(by: { $0.key < $1.key }) {
            guard fileByTensor[tensor]?.url.lastPathComponent == shardName else {
                throw SafeTensorsError(.invalidIndex, file: path, tensor: tensor,
                                       "the index maps this tensor to \(shardName) but that shard does not hold it")
            }
        }
    }

    /// Serves tensors from `files`; a name held by two files is refused.
    public init(files: [SafeTensorsFile]) throws {
        var map: [String: SafeTensorsFile] = [:]
        for file in files {
            for name in file.tensorNames {
                if let other = map[name] {
                    throw SafeTensorsError(.invalidIndex, file: file.url.path, tensor: name,
                                           "also present in \(other.url.lastPathComponent); shards must not repeat tensors")
                }
                map[name] = file
            }
        }
        self.files = files
        self.fileByTensor = map
    }

    public var tensorNames: [String] { files.flatMap(\.tensorNames) }

    public func info(_ name: String) -> SafeTensorsTensorInfo? { fileByTensor[name]?.info(name) }

    public func tensor(_ name: String, expectedShape: [Int]?) throws -> Tensor {
        guard let file = fileByTensor[name] else {
            throw SafeTensorsError(.missingTensor, file: files.first?.url.deletingLastPathComponent().path ?? "(no shards)",
                                   tensor: name, "no shard holds this tensor")
        }
        return try file.tensor(name, expectedShape: expectedShape)
    }
}
