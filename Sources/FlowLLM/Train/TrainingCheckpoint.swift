import Foundation

/// A checkpoint directory `checkpoint-N/`: everything needed to go on from optimizer step N and end with the
/// same weights as a run that never stopped.
///
/// Layout: the trainable weights (`adapter_config.json` + `adapter_model.safetensors` in PEFT layout for LoRA,
/// `config.json` + `model.safetensors` for full fine-tuning), `optimizer.safetensors` (AdamW's `exp_avg.NAME`
/// and `exp_avg_sq.NAME`, step count in the metadata), `trainer_state.json`, and `checkpoint.json` last, with
/// the step, the data position, the run's fingerprint and a SHA-256 of every other file. Random state needs no
/// file: the epoch shuffles and LoRA dropout are drawn from generators seeded by (seed, epoch) and
/// (seed, step, micro-batch), so the step number restores them.
public struct TrainingCheckpoint: Codable, Sendable, Equatable {
    /// Always `flow.trainer-checkpoint`, and the layout version.
    public var format = "flow.trainer-checkpoint", formatVersion = 1
    /// Optimizer steps done.
    public var step: Int
    /// The data position of the next step: its epoch and its index within that epoch.
    public var epoch: Int, stepInEpoch: Int
    /// Losses of the steps since the last log (their sum and count), so the next logged mean is the same as in
    /// a run that never stopped.
    public var pendingLossSum: Double, pendingLossSteps: Int
    /// What fixes the run's trajectory (model, adapter, data, optimizer and schedule settings, seed).
    public var fingerprint: [String: String]
    /// SHA-256 of each file of the directory but this one.
    public var files: [String: String]

    /// The name of the manifest file.
    public static let manifestName = "checkpoint.json"
    static let optimizerFile = "optimizer.safetensors", stateFile = "trainer_state.json"

    /// Writes `checkpoint-<step>` under `parent` (replacing one of that step) through a temporary directory.
    @discardableResult
    static func save(step: Int, epoch: Int, stepInEpoch: Int, pendingLoss: (sum: Double, steps: Int), fingerprint: [String: String],
                     baseModelName: String, model: LlamaModel,
                     optimizers: [AdamW], state: TrainerState, under parent: URL) throws -> URL {
        let fm = FileManager.default
        let target = parent.appendingPathComponent("checkpoint-\(step)", isDirectory: true)
        let temp = parent.appendingPathComponent(".checkpoint-\(step).partial", isDirectory: true)
        try? fm.removeItem(at: temp)
        try fm.createDirectory(at: temp, withIntermediateDirectories: true)
        if let adapter = model.adapter {
            try adapter.savePEFT(to: temp, baseModelNameOrPath: baseModelName)
        } else {
            try model.weights.save(to: temp, maxShardBytes: Int.max)
        }
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "step": String(optimizers.first?.step ?? 0)])
        for optimizer in optimizers {
            for (i, p) in optimizer.parameters.enumerated() {
                try writer.add("exp_avg.\(p.name)", optimizer.firstMoments[i])
                try writer.add("exp_avg_sq.\(p.name)", optimizer.secondMoments[i])
            }
        }
        try writer.write(to: temp.appendingPathComponent(optimizerFile))
        try state.write(to: temp.appendingPathComponent(stateFile))
        var files: [String: String] = [:]
        for name in try fm.contentsOfDirectory(atPath: temp.path) {
            files[name] = try digest(of: temp.appendingPathComponent(name))
        }
        let manifest = TrainingCheckpoint(step: step, epoch: epoch, stepInEpoch: stepInEpoch, pendingLossSum: pendingLoss.sum,
                                          pendingLossSteps: pendingLoss.steps, fingerprint: fingerprint, files: files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: temp.appendingPathComponent(manifestName))
        try? fm.removeItem(at: target)
        try fm.moveItem(at: temp, to: target)
        return target
    }

    /// Reads and verifies the checkpoint at `directory`: every file present with its recorded digest, and a
    /// fingerprint equal to `fingerprint` (the differing keys are named).
    static func read(from directory: URL, expecting fingerprint: [String: String]) throws -> TrainingCheckpoint {
        let path = directory.path
        let url = directory.appendingPathComponent(manifestName)
        guard let data = try? Data(contentsOf: url) else {
            throw TrainingError("\(path): no \(manifestName); not a flow checkpoint, or one whose saving was cut off — resume from an earlier checkpoint-N")
        }
        let manifest: TrainingCheckpoint
        do { manifest = try JSONDecoder().decode(TrainingCheckpoint.self, from: data) } catch {
            throw TrainingError("\(url.path): unreadable (\(error)); the checkpoint is corrupt — resume from another one")
        }
        guard manifest.format == "flow.trainer-checkpoint", manifest.formatVersion == 1 else {
            throw TrainingError("\(url.path): format \(manifest.format) v\(manifest.formatVersion); this flow reads flow.trainer-checkpoint v1")
        }
        for (name, expected) in manifest.files.sorted(by: { $0.key < $1.key }) {
            let file = directory.appendingPathComponent(name)
            guard let actual = try? digest(of: file), actual == expected else {
                throw TrainingError("\(file.path): missing or changed since the checkpoint was written (SHA-256 mismatch); the checkpoint is corrupt — resume from another one")
            }
        }
        let differing = Set(fingerprint.keys).union(manifest.fingerprint.keys).sorted()
            .filter { fingerprint[$0] != manifest.fingerprint[$0] }
        guard differing.isEmpty else {
            let detail = differing.prefix(4).map { "\($0): checkpoint \(manifest.fingerprint[$0] ?? "unset"), now \(fingerprint[$0] ?? "unset")" }
            throw TrainingError("\(path): the checkpoint was written by another configuration (\(detail.joined(separator: "; "))); resume with the config that wrote it, or start afresh")
        }
        return manifest
    }

    /// Loads the trainable weights and the optimizer state of a verified checkpoint into `model` and `optimizers`.
    static func restore(from directory: URL, model: LlamaModel, optimizers: [AdamW]) throws {
        let weightsFile = directory.appendingPathComponent(model.adapter == nil ? "model.safetensors" : "adapter_model.safetensors")
        let optimizerURL = directory.appendingPathComponent(optimizerFile)
        do {
            let weights = try SafeTensorsFile(url: weightsFile)
            let moments = try SafeTensorsFile(url: optimizerURL)
            guard let step = moments.metadata["step"].flatMap(Int.init) else {
                throw TrainingError("\(optimizerURL.path): no step count in the metadata")
            }
            for optimizer in optimizers {
                var first: [Tensor] = [], second: [Tensor] = []
                for p in optimizer.parameters {
                    p.value.copyValues(from: try weights.tensor(p.name, expectedShape: p.value.shape))
                    first.append(try moments.tensor("exp_avg.\(p.name)", expectedShape: p.value.shape))
                    second.append(try moments.tensor("exp_avg_sq.\(p.name)", expectedShape: p.value.shape))
                }
                try optimizer.restore(step: step, firstMoments: first, secondMoments: second)
            }
        } catch let error as TrainingError {
            throw error
        } catch {
            throw TrainingError("\(directory.path): cannot restore the checkpoint (\(error)); it does not fit this model")
        }
    }

    /// The checkpoint of the highest step under `parent` (`checkpoint-N` folders with a manifest), if any.
    public static func latest(in parent: URL) -> URL? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
        let steps = names.compactMap { name -> Int? in
            guard name.hasPrefix("checkpoint-"),
                  FileManager.default.fileExists(atPath: parent.appendingPathComponent(name).appendingPathComponent(manifestName).path)
            else { return nil }
            return Int(name.dropFirst("checkpoint-".count))
        }
        return steps.max().map { parent.appendingPathComponent("checkpoint-\($0)", isDirectory: true) }
    }

    private static func digest(of url: URL) throws -> String {
        var digest = TokenizerDigest()
        digest.update(try Data(contentsOf: url, options: .alwaysMapped))
        return digest.hexDigest()
    }
}
