import Foundation

/// Reads refs and trees for `flow volume ls/get/fsck`: resolving `REF[/path]`, writing trees out, checking the store.
public struct StoreBrowser: Sendable {
    public let store: ContentStore
    public let database: RunDatabase

    public init(project: Project, database: RunDatabase) {
        store = ContentStore(directory: project.storeDirectory.appendingPathComponent("objects"), verifiedObjects: database)
        self.database = database
    }

    /// A resolved `REF[/path]`: the entry it names.
    public struct Resolved: Sendable {
        public var ref: String
        public var entry: TreeEntry
    }

    /// Resolves `last_run_prepared`, `runs/<tag>/<step>/<output>`, either followed by a path inside the tree.
    public func resolve(_ spec: String) throws -> Resolved {
        let parts = spec.split(separator: "/").map(String.init)
        let refLength = parts.first == "runs" ? 4 : 1
        guard parts.count >= refLength else {
            throw FlowError.config("'\(spec)' is not a ref", hint: "refs look like last_run_prepared or runs/<tag>/<step>/<output>")
        }
        let ref = parts.prefix(refLength).joined(separator: "/")
        let volumeHead = refLength == 1 ? try NamedVolumes(store: store, database: database).head(ref) : nil
        guard let root = try database.resolveRef(ref) ?? volumeHead.flatMap({ Digest(hex: $0.digest) }) else {
            let known = try database.refs().map(\.name)
            throw FlowError.config(
                "no ref '\(ref)'" + Suggestion.didYouMean(ref, in: known),
                hint: ref == "last_run_prepared" ? "run `flow run --preproc-only` first" : "`flow volume ls` lists refs")
        }
        var entry = TreeEntry(name: parts[refLength - 1], kind: .directory, executable: false, digest: root,
                              size: try store.tree(root).size)
        for (i, name) in parts.dropFirst(refLength).enumerated() {
            guard entry.kind == .directory,
                let next = try store.tree(entry.digest).entries.first(where: { $0.name == name })
            else {
                throw FlowError.config(
                    "'\(parts.prefix(refLength + i + 1).joined(separator: "/"))' does not exist in \(ref)",
                    hint: "`flow volume ls \(parts.prefix(refLength + i).joined(separator: "/"))` lists what is there")
            }
            entry = next
        }
        return Resolved(ref: ref, entry: entry)
    }

    /// Writes an entry out to `destination` atomically (a temporary sibling renamed into place).
    public func get(_ resolved: Resolved, to destination: URL, force: Bool) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: destination.path, isDirectory: &isDir) {
            let empty = isDir.boolValue && ((try? fm.contentsOfDirectory(atPath: destination.path))?.isEmpty ?? false)
            guard force || empty else {
                throw FlowError.config("\(destination.path) exists and is not empty",
                                       hint: "choose another destination or pass --force to replace it")
            }
        }
        let staging = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).flow-tmp-\(getpid())")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        do {
            switch resolved.entry.kind {
            case .directory: try store.materialize(tree: resolved.entry.digest, to: staging)
            case .file: try store.copyObject(resolved.entry.digest, to: staging, executable: resolved.entry.executable)
            case .symlink:
                try fm.createSymbolicLink(
                    atPath: staging.path,
                    withDestinationPath: String(decoding: try store.object(resolved.entry.digest), as: UTF8.self))
            }
            if fm.fileExists(atPath: destination.path) { try fm.removeItem(at: destination) }
            try fm.moveItem(at: staging, to: destination)
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }

    /// What `fsck` found.
    public struct Check: Sendable {
        public var objects = 0
        public var damaged: [Digest] = []
        public var missing: [(ref: String, digest: Digest)] = []
        public var removedTemporaries = 0
        public var clean: Bool { damaged.isEmpty && missing.isEmpty }
    }

    /// Re-hashes every object and checks every ref's tree is whole; removes temporaries of interrupted writes.
    public func fsck() throws -> Check {
        var check = Check()
        for tmp in store.strayTemporaries() {
            try? FileManager.default.removeItem(at: tmp)
            check.removedTemporaries += 1
        }
        let all = store.allObjects()
        check.objects = all.count
        check.damaged = all.filter { !store.verify($0) }.sorted()
        check.damaged.forEach(store.quarantine)
        var roots: [(String, Digest)] = try database.refs().compactMap { r in Digest(hex: r.digest).map { (r.name, $0) } }
        for v in try database.read({ db in try VolumeVersion.fetchAll(db) }) {
            if let d = Digest(hex: v.digest) { roots.append(("\(v.name)@\(v.version)", d)) }
        }
        for o in try database.read({ db in try OutputRecord.fetchAll(db) }) {
            if let d = Digest(hex: o.digest) { roots.append(("runs/\(o.runTag)/\(o.step)/\(o.name)", d)) }
        }
        var seen = Set<Digest>()
        let damaged = Set(check.damaged)
        func walk(_ ref: String, _ d: Digest, _ isTree: Bool) {
            guard seen.insert(d).inserted else { return }
            guard store.contains(d) else { check.missing.append((ref, d)); return }
            guard isTree, !damaged.contains(d), let tree = try? store.tree(d) else { return }
            for e in tree.entries { walk(ref, e.digest, e.kind == .directory) }
        }
        for (ref, d) in roots { walk(ref, d, true) }
        return check
    }
}
