import Foundation
import GRDB

/// Frees objects nothing needs: keeps what named refs, volume heads, unfinished runs and the last `keepRuns`
/// runs (their outputs and cache entries) reach; drops older volume versions and other cache entries.
public struct GarbageCollector: Sendable {
    public let store: ContentStore
    public let database: RunDatabase
    /// Where runs keep their working copies (`volumes/runs`).
    public let runsDirectory: URL?

    public init(store: ContentStore, database: RunDatabase, runsDirectory: URL? = nil) {
        self.store = store
        self.database = database
        self.runsDirectory = runsDirectory
    }

    public struct Report: Sendable {
        public var kept = 0
        public var removed = 0
        public var freedBytes: Int64 = 0
        public var droppedVersions = 0
        public var droppedCacheEntries = 0
        public var removedWorkingCopies = 0
    }

    /// Objects younger than this are kept whatever refers to them: a run may be storing them right now.
    public static let graceSeconds: Double = 600

    public func collect(keepRuns: Int) throws -> Report {
        var report = Report()
        let keptRuns = try database.read { db in
            try String.fetchAll(db, sql: """
                SELECT tag FROM runs WHERE tag IN (SELECT tag FROM runs ORDER BY createdAt DESC LIMIT ?)
                   OR status IN ('pending', 'running')
                """, arguments: [keepRuns])
        }
        try database.write { db in
            let marks = databaseQuestionMarks(count: max(1, keptRuns.count))
            try db.execute(sql: "DELETE FROM actionCache WHERE runTag NOT IN (\(marks))",
                           arguments: StatementArguments(keptRuns.isEmpty ? [""] : keptRuns))
            report.droppedCacheEntries = db.changesCount
            try db.execute(sql: """
                DELETE FROM volumeVersions WHERE version < (SELECT MAX(version) FROM volumeVersions v WHERE v.name = volumeVersions.name)
                """)
            report.droppedVersions = db.changesCount
        }
        var roots: [Digest] = []
        try database.read { db in
            for hex in try String.fetchAll(db, sql: "SELECT digest FROM refs UNION SELECT digest FROM volumeVersions") {
                if let d = Digest(hex: hex) { roots.append(d) }
            }
            let marks = databaseQuestionMarks(count: max(1, keptRuns.count))
            for hex in try String.fetchAll(db, sql: "SELECT digest FROM outputs WHERE runTag IN (\(marks))",
                                           arguments: StatementArguments(keptRuns.isEmpty ? [""] : keptRuns)) {
                if let d = Digest(hex: hex) { roots.append(d) }
            }
            for json in try String.fetchAll(db, sql: "SELECT outputs FROM actionCache") {
                let map = (try? JSONDecoder().decode([String: Digest].self, from: Data(json.utf8))) ?? [:]
                roots += map.values
            }
        }
        var reachable = Set<Digest>()
        var stack = roots
        while let d = stack.popLast() {
            guard reachable.insert(d).inserted, let tree = try? store.tree(d) else { continue }
            stack += tree.entries.map(\.digest)
        }
        let cutoff = Date().timeIntervalSince1970 - Self.graceSeconds
        for d in store.allObjects() {
            if reachable.contains(d) { report.kept += 1; continue }
            var st = stat()
            let path = store.url(for: d).path
            guard stat(path, &st) == 0, Double(st.st_mtim.tv_sec) < cutoff else { report.kept += 1; continue }
            if unlink(path) == 0 {
                report.removed += 1
                report.freedBytes += Int64(st.st_size)
            }
        }
        // Finished runs' working copies of outputs: the store holds them; only run.json stays.
        if let runsDirectory {
            let unfinished = Set(try database.read { db in
                try String.fetchAll(db, sql: "SELECT tag FROM runs WHERE status IN ('pending', 'running')")
            })
            for tag in (try? FileManager.default.contentsOfDirectory(atPath: runsDirectory.path)) ?? [] where !unfinished.contains(tag) {
                let dir = runsDirectory.appendingPathComponent(tag)
                for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] where name != "run.json" {
                    FilePermissions.remove(dir.appendingPathComponent(name))
                    report.removedWorkingCopies += 1
                }
            }
        }
        return report
    }
}
