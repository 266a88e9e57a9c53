import Foundation
import GRDB

/// One output of one step of one run: the ref `runs/<tag>/<step>/<name>`.
public struct OutputRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "outputs"
    public var runTag: String
    public var step: String
    public var name: String
    public var digest: String
    public var size: Int64
}

/// A cache entry: the outputs a step produced for a key, and the run that produced them.
public struct ActionCacheRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "actionCache"
    public var key: String
    public var workflow: String
    public var step: String
    /// JSON object: output name to tree digest.
    public var outputs: String
    public var runTag: String
    public var createdAt: Double

    public var outputDigests: [String: Digest] {
        (try? JSONDecoder().decode([String: Digest].self, from: Data(outputs.utf8))) ?? [:]
    }
}

/// A named pointer to a tree, such as `last_run_prepared`.
public struct RefRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "refs"
    public var name: String
    public var digest: String
    public var updatedAt: Double
}

extension RunDatabase: StatCache {
    public func digest(for key: FileIdentity) -> (Digest, Int64)? {
        let row = try? read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM statCache WHERE path = ?", arguments: [key.path])
        }
        guard let row, row["device"] as Int64? == Int64(bitPattern: key.device),
            row["inode"] as Int64? == Int64(bitPattern: key.inode), row["size"] as Int64? == key.size,
            row["mtime"] as Int64? == key.mtimeNanos, row["ctime"] as Int64? == key.ctimeNanos,
            let d = Digest(hex: row["digest"] as String? ?? "")
        else { return nil }
        return (d, key.size)
    }

    public func remember(_ key: FileIdentity, digest: Digest, size: Int64) {
        try? write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO statCache (path, device, inode, size, mtime, ctime, digest) VALUES (?,?,?,?,?,?,?)",
                arguments: [key.path, Int64(bitPattern: key.device), Int64(bitPattern: key.inode), key.size,
                            key.mtimeNanos, key.ctimeNanos, digest.hex])
        }
    }

    /// The cache entry for a key, if any.
    public func cachedAction(_ key: Digest) throws -> ActionCacheRecord? {
        try read { db in
            try ActionCacheRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM actionCache WHERE key = ?"),
                                           arguments: [key.hex])
        }
    }

    public func outputs(of tag: String) throws -> [OutputRecord] {
        try read { db in try OutputRecord.filter(Column("runTag") == tag).order(Column("step"), Column("name")).fetchAll(db) }
    }

    /// A ref's tree: a named ref, or `runs/<tag>/<step>/<output>`.
    public func resolveRef(_ name: String) throws -> Digest? {
        if name.hasPrefix("runs/") {
            let parts = name.split(separator: "/").map(String.init)
            guard parts.count == 4 else { return nil }
            let tag = try resolveTag(parts[1]).tag
            let row = try read { db in
                try OutputRecord.fetchOne(db, key: ["runTag": tag, "step": parts[2], "name": parts[3]])
            }
            return row.flatMap { Digest(hex: $0.digest) }
        }
        let row = try read { db in try RefRecord.fetchOne(db, key: name) }
        return row.flatMap { Digest(hex: $0.digest) }
    }

    public func refs() throws -> [RefRecord] {
        try read { db in try RefRecord.order(Column("name")).fetchAll(db) }
    }
}
