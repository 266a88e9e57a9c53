import Foundation
import GRDB

/// The run database: runs, steps, attempts and metrics in SQLite (WAL), safe for several flow processes at once.
public final class RunDatabase: Sendable {
    public let url: URL
    private let pool: DatabasePool

    /// Opens (creating and migrating) the database at `url`.
    public init(url: URL) throws {
        self.url = url
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            pool = try DatabasePool(path: url.path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch {
            throw FlowError.config("cannot open the run database \(url.path): \(error)",
                                   hint: "if the file is damaged, move it aside; outputs in the store are not affected")
        }
    }

    private static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "runs") { t in
                t.primaryKey("tag", .text)
                t.column("workflow", .text).notNull()
                t.column("workflowFile", .text).notNull()
                t.column("status", .text).notNull()
                t.column("targets", .text).notNull()
                t.column("params", .text).notNull()
                t.column("createdAt", .double).notNull()
                t.column("finishedAt", .double)
                t.column("supervisorPid", .integer)
                t.column("supervisorStart", .integer)
                t.column("error", .text)
                t.column("host", .text).notNull()
            }
            try db.create(table: "steps") { t in
                t.column("runTag", .text).notNull().references("runs", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("position", .integer).notNull()
                t.column("status", .text).notNull()
                t.column("startedAt", .double)
                t.column("finishedAt", .double)
                t.column("attempts", .integer).notNull()
                t.column("error", .text)
                t.column("cachedFrom", .text)
                t.primaryKey(["runTag", "name"])
            }
            try db.create(table: "attempts") { t in
                t.column("runTag", .text).notNull()
                t.column("step", .text).notNull()
                t.column("number", .integer).notNull()
                t.column("host", .text).notNull()
                t.column("pid", .integer)
                t.column("startedAt", .double).notNull()
                t.column("finishedAt", .double)
                t.column("exitStatus", .integer)
                t.column("signal", .integer)
                t.column("error", .text)
                t.primaryKey(["runTag", "step", "number"])
            }
            try db.create(table: "metrics") { t in
                t.column("runTag", .text).notNull()
                t.column("step", .text).notNull()
                t.column("series", .text).notNull()
                t.column("name", .text).notNull()
                t.column("x", .integer)
                t.column("value", .double).notNull()
                t.column("at", .double).notNull()
            }
            try db.create(index: "metrics_by_run", on: "metrics", columns: ["runTag", "step", "name"])
        }
        m.registerMigration("v2-store") { db in
            try db.create(table: "outputs") { t in
                t.column("runTag", .text).notNull()
                t.column("step", .text).notNull()
                t.column("name", .text).notNull()
                t.column("digest", .text).notNull()
                t.column("size", .integer).notNull()
                t.primaryKey(["runTag", "step", "name"])
            }
            try db.create(table: "actionCache") { t in
                t.primaryKey("key", .text)
                t.column("workflow", .text).notNull()
                t.column("step", .text).notNull()
                t.column("outputs", .text).notNull()
                t.column("runTag", .text).notNull()
                t.column("createdAt", .double).notNull()
            }
            try db.create(table: "refs") { t in
                t.primaryKey("name", .text)
                t.column("digest", .text).notNull()
                t.column("updatedAt", .double).notNull()
            }
            try db.create(table: "statCache") { t in
                t.primaryKey("path", .text)
                t.column("device", .integer).notNull()
                t.column("inode", .integer).notNull()
                t.column("size", .integer).notNull()
                t.column("mtime", .integer).notNull()
                t.column("ctime", .integer).notNull()
                t.column("digest", .text).notNull()
            }
            try db.alter(table: "steps") { t in t.add(column: "cacheKey", .text) }
        }
        m.registerMigration("v3-provenance") { db in
            try db.alter(table: "runs") { t in t.add(column: "provenance", .text) }
        }
        m.registerMigration("v4-volumes") { db in
            try db.create(table: "volumeVersions") { t in
                t.column("name", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("digest", .text).notNull()
                t.column("createdAt", .double).notNull()
                t.column("message", .text).notNull()
                t.primaryKey(["name", "version"])
            }
        }
        return m
    }

    public func write<T>(_ body: (Database) throws -> T) throws -> T { try pool.write(body) }
    public func read<T>(_ body: (Database) throws -> T) throws -> T { try pool.read(body) }

    /// Records a new run and its planned steps.
    public func createRun(_ run: RunRecord, steps: [String]) throws {
        try pool.write { db in
            try run.insert(db)
            for (i, name) in steps.enumerated() {
                try StepRecord(runTag: run.tag, name: name, position: i, status: .waiting, attempts: 0).insert(db)
            }
        }
    }

    public func run(_ tag: String) throws -> RunRecord? {
        try pool.read { db in try RunRecord.fetchOne(db, key: tag) }
    }

    /// Runs, newest first.
    public func runs(limit: Int) throws -> [RunRecord] {
        try pool.read { db in
            try RunRecord.order(Column("createdAt").desc).limit(limit).fetchAll(db)
        }
    }

    public func steps(of tag: String) throws -> [StepRecord] {
        try pool.read { db in
            try StepRecord.filter(Column("runTag") == tag).order(Column("position")).fetchAll(db)
        }
    }

    public func attempts(of tag: String) throws -> [AttemptRecord] {
        try pool.read { db in
            try AttemptRecord.filter(Column("runTag") == tag).order(Column("step"), Column("number")).fetchAll(db)
        }
    }

    public func metrics(of tag: String) throws -> [MetricRecord] {
        try pool.read { db in
            try MetricRecord.filter(Column("runTag") == tag).order(Column("at")).fetchAll(db)
        }
    }

    /// Finds a run by its full tag or a unique prefix.
    public func resolveTag(_ tag: String) throws -> RunRecord {
        if let run = try run(tag) { return run }
        let matches = try pool.read { db in
            try RunRecord.filter(Column("tag").like("\(tag)%")).order(Column("createdAt").desc).fetchAll(db)
        }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty {
            throw FlowError.config("no run with tag '\(tag)'", hint: "`flow runs` lists recent runs")
        }
        throw FlowError.config(
            "tag '\(tag)' matches \(matches.count) runs: \(matches.prefix(5).map(\.tag).joined(separator: ", "))",
            hint: "give more of the tag")
    }

    /// Marks every unfinished run whose supervisor is gone as `lost` (and ends the steps it left behind).
    public func sweepLostRuns() throws {
        let unfinished = try pool.read { db in
            try RunRecord.filter(["pending", "running"].contains(Column("status"))).fetchAll(db)
        }
        for run in unfinished { try checkLiveness(run) }
    }

    /// Marks runs whose supervisor died without finishing them as `lost`; returns the fresh record.
    @discardableResult
    public func checkLiveness(_ run: RunRecord) throws -> RunRecord {
        guard !run.status.isFinished else { return run }
        if let pid = run.supervisorPid, ProcessIdentity.isAlive(pid: pid, startTime: run.supervisorStart) {
            return run
        }
        // A pending run without a supervisor yet may be starting; give it the benefit only when very recent.
        if run.supervisorPid == nil && Date().timeIntervalSince1970 - run.createdAt < 10 { return run }
        let now = Date().timeIntervalSince1970
        // Steps the dead supervisor left running would run on unwatched: end their process groups.
        let orphans = try pool.read { db in
            try AttemptRecord.filter(Column("runTag") == run.tag && Column("finishedAt") == nil).fetchAll(db)
        }
        for attempt in orphans {
            if let pid = attempt.pid, pid > 1, getpgid(pid) == pid { kill(-pid, SIGKILL) }
        }
        try pool.write { db in
            try db.execute(
                sql: "UPDATE attempts SET finishedAt = ?, error = 'lost with its supervisor' WHERE runTag = ? AND finishedAt IS NULL",
                arguments: [now, run.tag])
            try db.execute(
                sql: "UPDATE runs SET status = 'lost', finishedAt = ?, error = ? WHERE tag = ? AND status IN ('pending','running')",
                arguments: [now, "the supervisor process (pid \(run.supervisorPid.map(String.init) ?? "none")) is gone", run.tag])
            try db.execute(
                sql: "UPDATE steps SET status = 'lost', finishedAt = ? WHERE runTag = ? AND status = 'running'",
                arguments: [now, run.tag])
        }
        return try self.run(run.tag) ?? run
    }
}

/// A process identified by pid and start time, so a recycled pid is not mistaken for it.
public enum ProcessIdentity {
    /// The start time of `pid` in clock ticks since boot, from /proc.
    public static func startTime(of pid: Int32) -> Int64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields after the command: state is field 3, starttime is field 22.
        guard fields.count > 19 else { return nil }
        return Int64(fields[19])
    }

    public static func isAlive(pid: Int32, startTime expected: Int64?) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"),
            stat[stat.index(after: close)...].split(separator: " ").first == "Z"
        {
            return false
        }
        guard let expected else { return true }
        return startTime(of: pid) == expected
    }
}
