import FlowKit
import Foundation

/// Merges a PEFT LoRA adapter into a Hugging Face safetensors checkpoint, shard by shard: W + scaling · B·A
/// computed in F32 and written in the base's dtype, the trained copies of `modules_to_save` in place of their
/// base tensors (a tied base comes out untied, see `MergeUntying`), in the base's layout, with the config and
/// tokenizer files copied. Memory stays at one block of rows plus one A/B pair, whatever the model's size.
public struct LoRAMerge: Sendable {
    /// The base checkpoint directory (unquantized: merge a QLoRA adapter into the original weights).
    public let base: URL
    /// The PEFT adapter directory (`adapter_config.json`, `adapter_model.safetensors`).
    public let adapter: URL
    /// The threads each block of rows is split over.
    public var threads: ComputeThreads = .fromEnvironment
    /// Elements of W held in F32 at once; smaller blocks save memory, larger ones amortise calls.
    var blockElements = 1 << 18

    /// A merge of the adapter at `adapter` into the checkpoint at `base`.
    public init(base: URL, adapter: URL) {
        self.base = base
        self.adapter = adapter
    }

    static let indexName = "model.safetensors.index.json"
    /// Files in a base directory that are weights, not to be copied next to the merged ones.
    static let weightExtensions: Set<String> = ["safetensors", "bin", "pt", "pth", "ckpt", "gguf", "h5", "msgpack"]

    /// Writes the merged checkpoint into `output` (which must not exist, or be an empty directory), atomically:
    /// everything goes into a temporary sibling directory, synced, then renamed into place.
    public func run(into output: URL, progress: ProgressReporter? = nil, log: StepLog? = nil) throws -> MergeSummary {
        let checkpoint: ShardedSafeTensors
        do { checkpoint = try ShardedSafeTensors(directory: base) } catch {
            throw LoRAMergeError(.io, file: base.path, "cannot open the base checkpoint: \(error)")
        }
        try refuseQuantizedConfig()
        let adapterPairs = try PEFTAdapterPairs(directory: adapter)
        let untying = try MergeUntying.plan(configURL: base.appendingPathComponent("config.json"), checkpoint: checkpoint,
                                            adapter: adapterPairs)
        try check(adapterPairs, against: checkpoint, untying: untying)
        let temporary = try makeTemporaryDirectory(for: output)
        do {
            let summary = try write(checkpoint, adapterPairs, untying: untying, into: temporary, progress: progress, log: log)
            try MergeOutputFile.syncFiles(in: temporary)
            guard rename(temporary.path, output.path) == 0 else {
                throw LoRAMergeError(.io, file: output.path, "cannot move the merged checkpoint into place: \(String(cString: strerror(errno)))")
            }
            try MergeOutputFile.sync(output.deletingLastPathComponent(), isDirectory: true)
            return summary
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    private func write(_ checkpoint: ShardedSafeTensors, _ adapterPairs: PEFTAdapterPairs, untying: MergeUntying?,
                       into directory: URL, progress: ProgressReporter?, log: StepLog?) throws -> MergeSummary {
        let totalBytes = checkpoint.files.reduce(0) { $0 + $1.tensors.reduce(0) { $0 + $1.dataOffsets.count } }
        var summary = MergeSummary(tensorsMerged: 0, tensorsCopied: 0, shardsWritten: 0, bytesWritten: 0,
                                   peakTensorBytes: 0, filesCopied: [])
        var done = 0
        log?.info("merging \(adapterPairs.pairs.count) LoRA pairs (r=\(adapterPairs.config.rank), scaling \(adapterPairs.config.scaling))"
                  + (adapterPairs.replacements.isEmpty ? "" : " and \(adapterPairs.replacements.count) saved module(s)")
                  + " into \(checkpoint.files.count) shard(s), \(totalBytes) bytes")
        if untying != nil { log?.info("the base ties lm_head to the embeddings; the merged model unties them (tie_word_embeddings: false)") }
        let adapterPages = try MappedPageReleaser(adapterPairs.file)
        for file in checkpoint.files {
            let name = file.url.lastPathComponent
            let writer = MergedShardWriter(pairs: adapterPairs.pairs.filter { file.info($0.key) != nil },
                                           replacements: adapterPairs.replacements.filter { file.info($0.key) != nil },
                                           appended: untying?.shard == name ? untying?.appended : nil,
                                           adapter: adapterPairs, adapterPages: adapterPages, threads: threads,
                                           blockElements: blockElements)
            let result = try writer.write(file, to: directory.appendingPathComponent(name)) { bytes in
                done += bytes
                progress?.update(completed: Double(done), total: Double(totalBytes), unit: "bytes")
            }
            summary.tensorsMerged += result.merged
            summary.tensorsReplaced += result.replaced
            summary.tensorsCopied += result.copied
            summary.shardsWritten += 1
            summary.bytesWritten += result.bytes
            summary.peakTensorBytes = max(summary.peakTensorBytes, result.peakScratchBytes)
            log?.info("\(name): \(result.merged) tensors merged, \(result.replaced) replaced, \(result.copied) copied")
        }
        let index = base.appendingPathComponent(Self.indexName)
        if FileManager.default.fileExists(atPath: index.path) {
            try writeIndex(from: index, totalSize: totalBytes + (untying?.appendedBytes ?? 0), untying: untying,
                           to: directory.appendingPathComponent(Self.indexName))
        }
        var skipped = Set(checkpoint.files.map { $0.url.lastPathComponent })
        if let untying {
            try untying.writeConfig(from: base.appendingPathComponent("config.json"), to: directory.appendingPathComponent("config.json"))
            skipped.insert("config.json")
            summary.filesCopied.append("config.json")
        }
        summary.filesCopied += try copyOtherFiles(except: skipped, into: directory, log: log)
        return summary
    }

    /// Checks every pair against the base before anything is written: present, unquantized, same shape.
    private func check(_ adapterPairs: PEFTAdapterPairs, against checkpoint: ShardedSafeTensors, untying: MergeUntying?) throws {
        let adapterFile = adapterPairs.file.url.path
        for pair in adapterPairs.pairs.values.sorted(by: { $0.baseName < $1.baseName }) {
            guard let target = checkpoint.info(pair.baseName) else {
                throw LoRAMergeError(.wrongModel, file: adapterFile, tensor: pair.aName,
                                     "adapts \(pair.baseName), which the base at \(base.path) does not have; is this adapter for this base model?")
            }
            guard target.dtype.isFloatConvertible else {
                throw LoRAMergeError(.quantizedBase, file: base.path, tensor: pair.baseName,
                                     "dtype \(target.dtype.rawValue) is quantized; merge into the unquantized base (F32, F16 or BF16), not the QLoRA training copy")
            }
            guard let a = adapterPairs.file.info(pair.aName), let b = adapterPairs.file.info(pair.bName) else { continue }
            guard target.shape == [b.shape[0], a.shape[1]] else {
                throw LoRAMergeError(.wrongModel, file: adapterFile, tensor: pair.aName,
                                     "B·A is [\(b.shape[0]), \(a.shape[1])] but the base's \(pair.baseName) is \(target.shape); the adapter was trained on another model")
            }
        }
        try checkReplacements(adapterPairs, against: checkpoint, untying: untying)
    }

    /// Checks every saved module copy: its base tensor present (or, for the lm_head of a tied base, the embedding
    /// table it is written beside), unquantized, of the same shape.
    private func checkReplacements(_ adapterPairs: PEFTAdapterPairs, against checkpoint: ShardedSafeTensors,
                                   untying: MergeUntying?) throws {
        let adapterFile = adapterPairs.file.url.path
        for (baseName, name) in adapterPairs.replacements.sorted(by: { $0.key < $1.key }) {
            let appended = untying?.appended.map { $0.name == baseName } ?? false
            guard let target = checkpoint.info(appended ? MergeUntying.embedName : baseName) else {
                throw LoRAMergeError(.wrongModel, file: adapterFile, tensor: name,
                                     "replaces \(baseName) (modules_to_save), which the base at \(base.path) does not have; is this adapter for this base model?")
            }
            guard target.dtype.isFloatConvertible else {
                throw LoRAMergeError(.quantizedBase, file: base.path, tensor: baseName,
                                     "dtype \(target.dtype.rawValue) is quantized; merge into the unquantized base (F32, F16 or BF16)")
            }
            guard let copy = adapterPairs.file.info(name), copy.shape == target.shape, target.shape.count == 2 else {
                throw LoRAMergeError(.wrongModel, file: adapterFile, tensor: name,
                                     "is \(adapterPairs.file.info(name)?.shape ?? []) but the base's \(baseName) is \(target.shape); the adapter was trained on another model (or with another vocabulary)")
            }
        }
    }

    /// A `quantization_config` in config.json means the weights are not plain floats (bitsandbytes, GPTQ, AWQ...).
    private func refuseQuantizedConfig() throws {
        let config = base.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: config.path),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              object["quantization_config"] != nil
        else { return }
        throw LoRAMergeError(.quantizedBase, file: config.path,
                             "has a quantization_config: the base is quantized; merge into the unquantized base model instead")
    }

    /// The base index with the same `weight_map` (plus an appended `lm_head.weight`) and `metadata.total_size` set to
    /// the data size in bytes.
    private func writeIndex(from source: URL, totalSize: Int, untying: MergeUntying?, to destination: URL) throws {
        guard let data = FileManager.default.contents(atPath: source.path),
              var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else {
            throw LoRAMergeError(.io, file: source.path, "cannot read the shard index as a JSON object")
        }
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        metadata["total_size"] = totalSize
        object["metadata"] = metadata
        if let untying, let appended = untying.appended {
            var weightMap = object["weight_map"] as? [String: Any] ?? [:]
            weightMap[appended.name] = untying.shard
            object["weight_map"] = weightMap
        }
        try MergeOutputFile.writeJSON(object, to: destination, source: source)
    }

    /// Copies config, tokenizer and other regular files; weights of other formats and folders are skipped.
    private func copyOtherFiles(except shards: Set<String>, into directory: URL, log: StepLog?) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: base.path).sorted() } catch {
            throw LoRAMergeError(.io, file: base.path, "cannot list the base directory: \(error.localizedDescription)")
        }
        var copied: [String] = []
        for name in names where !name.hasPrefix(".") && !shards.contains(name) && name != Self.indexName {
            let source = base.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  !Self.weightExtensions.contains(source.pathExtension.lowercased())
            else {
                log?.info("not copied (a folder or unmerged weights): \(name)")
                continue
            }
            try MergeOutputFile.copy(source, to: directory.appendingPathComponent(name))
            copied.append(name)
        }
        return copied
    }

    /// A fresh directory beside `output`, after checking that `output` is free.
    private func makeTemporaryDirectory(for output: URL) throws -> URL {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: output.path, isDirectory: &isDirectory) {
            let empty = isDirectory.boolValue && ((try? manager.contentsOfDirectory(atPath: output.path))?.isEmpty ?? false)
            guard empty else {
                throw LoRAMergeError(.outputExists, file: output.path, "already exists and is not an empty directory; remove it or choose another output")
            }
        }
        let parent = output.deletingLastPathComponent()
        let temporary = parent.appendingPathComponent(".\(output.lastPathComponent).merging-\(getpid())")
        try? manager.removeItem(at: temporary)  // left by a killed run with this pid
        do { try manager.createDirectory(at: temporary, withIntermediateDirectories: true) } catch {
            throw LoRAMergeError(.io, file: parent.path, "cannot create \(temporary.lastPathComponent) for the merge: \(error.localizedDescription)")
        }
        return temporary
    }
}
