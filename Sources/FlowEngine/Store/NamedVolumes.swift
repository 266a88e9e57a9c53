import Foundation
import GRDB

/// One committed version of a named volume: a root tree.
public struct VolumeVersion: Sendable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "volumeVersions"
    public var name: String
    public var version: Int
    public var digest: String
    public var createdAt: Double
    public var message: String
}

/// Named, versioned volumes: each change commits a new root tree; older versions stay readable until `gc`.
public struct NamedVolumes: Sendable {
    public let store: ContentStore
    public let database: RunDatabase

    public init(store: ContentStore, database: RunDatabase) {
        self.store = store
        self.database = database
    }

    public func versions(of name: String) throws -> [VolumeVersion] {
        try database.read { db in
            try VolumeVersion.filter(Column("name") == name).order(Column("version").desc).fetchAll(db)
        }
    }

    public func head(_ name: String) throws -> VolumeVersion? { try versions(of: name).first }

    public func names() throws -> [String] {
        try database.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT name FROM volumeVersions ORDER BY name") }
    }

    /// Adds a local file, folder or archive at `path` inside volume `name` as a new version.
    @discardableResult
    public func put(_ name: String, local: URL, at path: String?, force: Bool,
                    progress: ((_ done: Int64, _ total: Int64) -> Void)? = nil) throws -> VolumeVersion {
        try Self.checkName(name)
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: local.path, isDirectory: &isDir) else {
            throw FlowError.config("\(local.path) does not exist")
        }
        var entry: TreeEntry
        if !isDir.boolValue && Archive.isArchive(local.path) {
            let staging = store.directory.appendingPathComponent("tmp/extract-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            defer { try? fm.removeItem(at: staging) }
            try Archive.extract(local, into: staging)
            entry = try store.putDirectory(staging, statCache: database)
        } else if isDir.boolValue {
            entry = try store.putDirectory(local, statCache: database)
        } else {
            let total = (try? fm.attributesOfItem(atPath: local.path)[.size] as? NSNumber)?.int64Value ?? 0
            let (d, size) = try store.putFile(local, statCache: database, progress: progress.map { p in { p($0, total) } })
            entry = TreeEntry(name: local.lastPathComponent, kind: .file,
                              executable: fm.isExecutableFile(atPath: local.path), digest: d, size: size)
        }
        let components = (path ?? (Archive.isArchive(local.path) ? "" : local.lastPathComponent))
            .split(separator: "/").map(String.init).filter { !$0.isEmpty && $0 != "." }
        guard !components.contains("..") else { throw FlowError.config("a volume path cannot contain '..'") }
        return try commit(name, message: "put \(local.lastPathComponent) at /\(components.joined(separator: "/"))") { root in
            if components.isEmpty {
                guard entry.kind == .directory else {
                    throw FlowError.config("give a PATH inside volume '\(name)' for the file \(local.lastPathComponent)")
                }
                if let root, !force, !(try store.tree(root).entries.isEmpty) {
                    throw FlowError.config("volume '\(name)' is not empty; replacing its whole content needs --force")
                }
                return entry.digest
            }
            if !force, let root, try lookup(root, components) != nil {
                throw FlowError.config("'\(name)/\(components.joined(separator: "/"))' already exists",
                                       hint: "pass --force to replace it")
            }
            entry.name = components.last!
            return try replace(root, components, with: entry)
        }
    }

    /// Removes `path` from volume `name` as a new version.
    @discardableResult
    public func remove(_ name: String, path: String) throws -> VolumeVersion {
        let components = path.split(separator: "/").map(String.init).filter { !$0.isEmpty }
        return try commit(name, message: "rm /\(path)") { root in
            guard let root, try lookup(root, components) != nil else {
                throw FlowError.config("'\(name)/\(path)' does not exist", hint: "`flow volume ls \(name)` lists it")
            }
            return try replace(root, components, with: nil)
        }
    }

    /// Commits the root tree `change` derives from the head; concurrent committers retry on the new head.
    public func commit(_ name: String, message: String, _ change: (Digest?) throws -> Digest) throws -> VolumeVersion {
        for _ in 0..<20 {
            let head = try self.head(name)
            let newRoot = try change(head.flatMap { Digest(hex: $0.digest) })
            let next = VolumeVersion(name: name, version: (head?.version ?? 0) + 1, digest: newRoot.hex,
                                     createdAt: Date().timeIntervalSince1970, message: message)
            let committed = try database.write { db -> Bool in
                let current = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM volumeVersions WHERE name = ?", arguments: [name])
                guard current == head?.version else { return false }
                try next.insert(db)
                return true
            }
            if committed { return next }
        }
        throw FlowError(.internalError, "volume '\(name)' changed too often while committing; try again")
    }

    func lookup(_ root: Digest, _ path: [String]) throws -> TreeEntry? {
        var entry: TreeEntry? = TreeEntry(name: "", kind: .directory, executable: false, digest: root, size: 0)
        for part in path {
            guard let e = entry, e.kind == .directory else { return nil }
            entry = try store.tree(e.digest).entries.first { $0.name == part }
        }
        return entry
    }

    /// A new root with `path` replaced by `entry` (or removed when nil), rebuilding the trees above it.
    func replace(_ root: Digest?, _ path: [String], with entry: TreeEntry?) throws -> Digest {
        var entries = try root.map { try store.tree($0).entries } ?? []
        let name = path[0]
        let existing = entries.firstIndex { $0.name == name }
        if path.count == 1 {
            if let i = existing { entries.remove(at: i) }
            if let entry { entries.append(entry) }
        } else {
            let child = existing.flatMap { entries[$0].kind == .directory ? entries[$0].digest : nil }
            let newChild = try replace(child, Array(path.dropFirst()), with: entry)
            if let i = existing { entries.remove(at: i) }
            entries.append(TreeEntry(name: name, kind: .directory, executable: false, digest: newChild,
                                     size: try store.tree(newChild).size))
        }
        return try store.put(Tree(entries: entries).encoded)
    }

    static func checkName(_ name: String) throws {
        guard !name.isEmpty, name != "runs", name != "last_run_prepared",
            name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
        else {
            throw FlowError.config("'\(name)' is not a usable volume name", hint: "use letters, digits, '-', '_' and '.'")
        }
    }
}
