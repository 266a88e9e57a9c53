import FlowKit
import Foundation

/// Named volumes mounted into a step: materialized from their head before it runs, and its changes committed
/// as a new version when it succeeds (merged path by path with what others committed meanwhile).
extension StepRunner {
    var volumes: NamedVolumes { NamedVolumes(store: engine.store, database: database) }

    /// The local folder a volume is mounted at for a step (written out before it runs, or fetched from its host).
    func mountDirectory(_ step: String, _ mount: VolumeMount) -> URL {
        outputsDirectory(step).deletingLastPathComponent()
            .appendingPathComponent(".volumes/\(step)/\(mount.name)", isDirectory: true)
    }

    private func baseFile(_ step: String, _ mount: VolumeMount) -> URL {
        mountDirectory(step, mount).deletingLastPathComponent().appendingPathComponent("\(mount.name).base")
    }

    /// Writes each mounted volume's head out for the step; returns mount path to local folder.
    func mountVolumes(_ step: StepSpec) throws -> [String: String] {
        var mounts: [String: String] = [:]
        for mount in step.attributes.volumes {
            let dir = mountDirectory(step.name, mount)
            let head = try volumeBase(step.name, mount)
            if let head {
                try engine.store.materialize(tree: head, to: dir)
            } else {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            }
            mounts[mount.path] = dir.path
        }
        return mounts
    }

    /// The volume's head as the step starts from it (nil for a volume never written), recorded as the base its
    /// changes are computed against; the local mount folder is cleared.
    func volumeBase(_ step: String, _ mount: VolumeMount) throws -> Digest? {
        let dir = mountDirectory(step, mount)
        FilePermissions.remove(dir)
        try FileManager.default.createDirectory(at: dir.deletingLastPathComponent(), withIntermediateDirectories: true)
        let head = try volumes.head(mount.name).flatMap { Digest(hex: $0.digest) }
        try Data((head?.hex ?? "").utf8).write(to: baseFile(step, mount))
        return head
    }

    /// Commits what the step changed in each mounted volume.
    func commitVolumes(_ step: StepSpec, writer: LogWriter, attempt: Int) throws {
        for mount in step.attributes.volumes {
            let dir = mountDirectory(step.name, mount)
            let base = Digest(hex: (try? String(contentsOf: baseFile(step.name, mount), encoding: .utf8)) ?? "")
            let after = try engine.store.putDirectory(dir, statCache: nil).digest
            guard after != base else { continue }
            let before = try base.map(flatten) ?? [:]
            let now = try flatten(after)
            let changed = Set(before.keys).union(now.keys).filter { before[$0] != now[$0] }.sorted()
            let version = try volumes.commit(mount.name, message: "\(tag)/\(step.name): \(changed.count) paths") { head in
                var root = head
                let current = try head.map(flatten) ?? [:]
                for path in changed {
                    if current[path] != before[path] {
                        writer.append("warning: volume '\(mount.name)' path '\(path)' was also changed by another step; "
                                      + "keeping this step's version (the later commit)", attempt: attempt)
                    }
                    let components = path.split(separator: "/").map(String.init)
                    root = try volumes.replace(root, components, with: now[path])
                }
                return try root ?? engine.store.put(Tree(entries: []).encoded)
            }
            runLog?.append("\(step.name): committed volume '\(mount.name)' version \(version.version)", attempt: attempt)
        }
    }

    /// Every file (and link) under a tree, by path.
    private func flatten(_ root: Digest) throws -> [String: TreeEntry] {
        var out: [String: TreeEntry] = [:]
        func walk(_ d: Digest, _ prefix: String) throws {
            for e in try engine.store.tree(d).entries {
                let path = prefix.isEmpty ? e.name : "\(prefix)/\(e.name)"
                if e.kind == .directory { try walk(e.digest, path) } else { out[path] = e }
            }
        }
        try walk(root, "")
        return out
    }
}
