import FlowKit
import Foundation
import GRDB

/// The cache side of running a step: its key, restoring a hit, and publishing a success into the store.
extension StepRunner {
    /// The step's cache key from its code, the parameters and files it reads, its inputs and its environment.
    func actionKey(_ step: StepSpec) async throws -> ActionKey {
        var parts = ["flow-action 1", "flow \(FlowVersion.current)", "workflow \(plan.workflow.name)", "step \(step.name)"]
        if let command = step.command {
            parts.append("command \(command)")
        } else if let text = plan.source.text(of: step.name) {
            parts.append("code \(Digest.of(Data(text.utf8)))")
            parts.append("shared \(plan.source.sharedDigest)")
        } else {
            parts.append("file \(plan.loaded.compiled.sourceDigest)")
        }
        for p in parametersRead(step) {
            let value = plan.params[p] ?? ""
            parts.append("param \(p)=\(value)")
            if let digest = try fileDigest(value) { parts.append("param-file \(p) \(digest)") }
        }
        for (k, v) in step.attributes.env.sorted(by: { $0.key < $1.key }) { parts.append("env \(k)=\(v)") }
        for mount in step.attributes.volumes {
            parts.append("volume \(mount.path) \(mount.name) \(try volumes.head(mount.name)?.digest ?? "empty")")
        }
        let deps = plan.graph.dependencies[step.name, default: []].sorted()
        let outputs = try recordedOutputs(of: deps)
        for o in outputs.sorted(by: { ($0.step, $0.name) < ($1.step, $1.name) }) {
            parts.append("input \(o.step)/\(o.name) \(o.digest)")
        }
        if step.hasKeyMaterial {
            parts += try await workerKeyMaterial(step).map { "material \($0)" }
        }
        return ActionKey(parts: parts)
    }

    /// The parameters a step reads: its command's placeholders, or those its function's code names (all, when
    /// its code cannot be told apart).
    func parametersRead(_ step: StepSpec) -> [String] {
        let declared = plan.workflow.params.map(\.name)
        let read: [String]
        if step.command != nil {
            read = plan.graph.templates[step.name]?.parts.compactMap { if case .param(let p) = $0 { return p } else { return nil } } ?? []
        } else if let text = plan.source.text(of: step.name) {
            read = SourceScanner.parametersRead(in: Substring(text), declared: declared)
        } else {
            read = declared
        }
        return Set(read).sorted()
    }

    /// Runs the step's `cacheKey` closure in a worker process and returns what it computed.
    private func workerKeyMaterial(_ step: StepSpec) async throws -> [String] {
        try materializeInputs(of: step.name)
        let dir = project.runsDirectory.appendingPathComponent(tag).appendingPathComponent(".invocations")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let invocation = WorkerInvocation(
            workflow: plan.workflow.name, step: step.name, runTag: tag, attempt: 0, params: plan.params,
            inputs: inputPaths(step), outputsDirectory: dir.path, volumes: [:], workDirectory: project.root.path)
        let file = dir.appendingPathComponent("\(step.name).key.json")
        let out = dir.appendingPathComponent("\(step.name).key.out.json")
        try JSONEncoder().encode(invocation).write(to: file, options: .atomic)
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("FLOW_") { env[key] = nil }
        let process = try ChildProcess(ChildProcess.Options(
            executable: plan.loaded.compiled.binary.path, arguments: ["step-key", file.path, out.path],
            environment: env, workingDirectory: project.root.path, timeoutSeconds: 600))
        let lines = LineCollector()
        let result = await process.wait(output: { lines.keepLast($0, limit: 20) })
        guard result.termination.succeeded, let data = try? Data(contentsOf: out),
            let material = try? JSONDecoder().decode([String].self, from: data)
        else {
            throw FlowError(.stepFailed, "step '\(step.name)' could not compute its cache key (\(result.termination.description)): "
                + redactor.redact(lines.lines.joined(separator: " | ")))
        }
        return material
    }

    /// The content digest of a parameter that names a file or folder (relative to the project), else nil.
    private func fileDigest(_ value: String) throws -> Digest? {
        guard let url = localPath(forParameter: value) else { return nil }
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
        let store = engine.store
        if isDir.boolValue { return try store.putDirectory(url, statCache: database).digest }
        return try store.putFile(url, statCache: database).0
    }

    /// The file or folder a parameter's value names (relative to the project root), if it exists.
    func localPath(forParameter value: String) -> URL? {
        guard !value.isEmpty, value.count < 4096, !value.contains("\n") else { return nil }
        let url = value.hasPrefix("/") ? URL(fileURLWithPath: value) : project.root.appendingPathComponent(value)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// A parameter's file or folder as a tree in the store, to lay out on a remote host: a folder is its own tree;
    /// a file becomes a tree holding it under its own name (`file`). Nil when the value names nothing local.
    func localTree(forParameter value: String) throws -> (tree: Digest, file: String?)? {
        guard let url = localPath(forParameter: value) else { return nil }
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
        let store = engine.store
        if isDir.boolValue { return (try store.putDirectory(url, statCache: database).digest, nil) }
        let (digest, size) = try store.putFile(url, statCache: database)
        let executable = FileManager.default.isExecutableFile(atPath: url.path)
        let tree = Tree(entries: [TreeEntry(name: url.lastPathComponent, kind: .file, executable: executable,
                                            digest: digest, size: size)])
        return (try store.put(tree.encoded), url.lastPathComponent)
    }

    /// Takes a cache hit's outputs into this run and records the step as cached under `key`, in one transaction;
    /// returns what was wrong if any object is damaged. The outputs are checked, not copied: they are written out
    /// only if a step that reads them runs (`materializeInputs`), so a fully cached run writes no files.
    func restore(_ hit: ActionCacheRecord, step: String, key: ActionKey) -> String? {
        FilePermissions.remove(outputsDirectory(step))
        do {
            var records: [OutputRecord] = []
            for (name, digest) in hit.outputDigests.sorted(by: { $0.key < $1.key }) {
                let size = try engine.store.verify(tree: digest)
                records.append(OutputRecord(runTag: tag, step: step, name: name, digest: digest.hex, size: size))
            }
            try database.write { db in
                try Self.insert(records, db)
                // The metrics the producing run recorded (eval scores, loss curves) belong to this run too.
                try db.execute(
                    sql: """
                        INSERT INTO metrics (runTag, step, series, name, x, value, at)
                        SELECT ?, ?, series, name, x, value, at FROM metrics WHERE runTag = ? AND step = ?
                        """,
                    arguments: [tag, step, hit.runTag, hit.step])
                try db.execute(
                    sql: """
                        UPDATE steps SET cacheKey = ?, status = ?, error = NULL, finishedAt = ?, cachedFrom = ?
                        WHERE runTag = ? AND name = ?
                        """,
                    arguments: [key.digest.hex, StepStatus.cached.rawValue, Date().timeIntervalSince1970, hit.runTag,
                                tag, step])
            }
            runOutputs.record(step, records, written: false)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Writes out the outputs of the cached steps `step` reads, before it runs here (their folders under the run
    /// appear whole or not at all).
    func materializeInputs(of step: String) throws {
        for dep in plan.graph.dependencies[step, default: []] {
            try runOutputs.writeOnce(dep) { records in
                let target = outputsDirectory(dep)
                let partial = target.deletingLastPathComponent()
                    .appendingPathComponent(".\(dep).partial-\(getpid())", isDirectory: true)
                FilePermissions.remove(partial)
                do {
                    try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
                    for r in records {
                        guard let digest = Digest(hex: r.digest) else { continue }
                        try engine.store.materialize(tree: digest, to: partial.appendingPathComponent(r.name, isDirectory: true))
                    }
                    FilePermissions.makeReadOnly(partial)
                    FilePermissions.remove(target)
                    guard rename(partial.path, target.path) == 0 else {
                        throw FlowError(.internalError, "cannot move \(partial.path) to \(target.path): \(String(cString: strerror(errno)))")
                    }
                } catch {
                    FilePermissions.remove(partial)
                    throw FlowError(.stepFailed, "the cached outputs of step '\(dep)' could not be written out for '\(step)': \(error)",
                                    hint: "run again: a damaged object makes '\(dep)' re-run")
                }
            }
        }
    }

    /// Stores a successful step's outputs, records them as refs of this run and as the cache entry for `key`.
    func publish(step: String, key: ActionKey) throws {
        let outputs = outputsDirectory(step)
        let fm = FileManager.default
        var digests: [String: Digest] = [:]
        var records: [OutputRecord] = []
        var entries: [TreeEntry] = []
        for name in ((try? fm.contentsOfDirectory(atPath: outputs.path)) ?? []).sorted() where !name.hasPrefix(".") {
            var isDir: ObjCBool = false
            let url = outputs.appendingPathComponent(name)
            guard fm.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else { continue }
            var entry = try engine.store.putDirectory(url, statCache: nil)
            entry.name = name
            entries.append(entry)
            digests[name] = entry.digest
            records.append(OutputRecord(runTag: tag, step: step, name: name, digest: entry.digest.hex, size: entry.size))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let outputsJSON = String(decoding: try encoder.encode(digests), as: UTF8.self)
        var prepared: Digest?
        if step == plan.workflow.preprocessingStep {
            // One output is the prepared data itself; several are stored as one tree of them (already hashed above).
            prepared = entries.count == 1 ? entries[0].digest : try engine.store.put(Tree(entries: entries).encoded)
        }
        let now = Date().timeIntervalSince1970
        try database.write { db in
            try Self.insert(records, db)
            try ActionCacheRecord(key: key.digest.hex, workflow: plan.workflow.name, step: step, outputs: outputsJSON,
                                  runTag: tag, createdAt: now).save(db)
            if let prepared {
                try RefRecord(name: "last_run_prepared", digest: prepared.hex, updatedAt: now).save(db)
            }
        }
        runOutputs.record(step, records, written: true)
        FilePermissions.makeReadOnly(outputs)
    }

    /// The outputs `steps` recorded in this run: from memory for steps this runner finished, else the database.
    func recordedOutputs(of steps: [String]) throws -> [OutputRecord] {
        var found: [OutputRecord] = []
        var missing: [String] = []
        for s in steps {
            if let records = runOutputs.of(s) { found += records } else { missing.append(s) }
        }
        if !missing.isEmpty {
            found += try database.read { db in
                try OutputRecord.filter(Column("runTag") == tag && missing.contains(Column("step"))).fetchAll(db)
            }
        }
        return found
    }

    private static func insert(_ records: [OutputRecord], _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO outputs (runTag, step, name, digest, size) VALUES (?, ?, ?, ?, ?)")
        for r in records {
            try statement.execute(arguments: [r.runTag, r.step, r.name, r.digest, r.size])
        }
    }
}

/// The outputs each finished step of a run recorded, kept in memory so the keys of the steps after it need no
/// database read (a fully cached 1,000-step run makes a thousand of them), and whether they are written out under
/// the run yet (a cache hit's are not until a step that reads them runs).
final class RunOutputs: @unchecked Sendable {
    private let lock = NSLock()
    private var byStep: [String: [OutputRecord]] = [:]
    private var unwritten: Set<String> = []

    func record(_ step: String, _ records: [OutputRecord], written: Bool) {
        lock.withLock {
            byStep[step] = records
            if written { unwritten.remove(step) } else { unwritten.insert(step) }
        }
    }

    func of(_ step: String) -> [OutputRecord]? { lock.withLock { byStep[step] } }

    /// Runs `write` with `step`'s records if they are not written out yet, one caller at a time.
    func writeOnce(_ step: String, _ write: ([OutputRecord]) throws -> Void) throws {
        try lock.withLock {
            guard unwritten.contains(step), let records = byStep[step] else { return }
            try write(records)
            unwritten.remove(step)
        }
    }
}
