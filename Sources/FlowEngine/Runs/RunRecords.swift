import Foundation
import GRDB

/// What became of a run.
public enum RunStatus: String, Sendable, Codable, DatabaseValueConvertible {
    case pending, running, succeeded, failed, stopped, lost

    public var isFinished: Bool { self != .pending && self != .running }
}

/// What became of one step of a run.
public enum StepStatus: String, Sendable, Codable, DatabaseValueConvertible {
    case waiting, running, succeeded, failed, cached, skipped, cancelled, lost

    public var isFinished: Bool { self != .waiting && self != .running }
}

/// A row of `runs`.
public struct RunRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "runs"
    public var tag: String
    public var workflow: String
    public var workflowFile: String
    public var status: RunStatus
    public var targets: String
    public var params: String
    public var createdAt: Double
    public var finishedAt: Double?
    public var supervisorPid: Int32?
    public var supervisorStart: Int64?
    public var error: String?
    public var host: String
    /// JSON of `Provenance`.
    public var provenance: String?

    public var decodedProvenance: Provenance? {
        provenance.flatMap { try? JSONDecoder().decode(Provenance.self, from: Data($0.utf8)) }
    }
}

/// A row of `steps`.
public struct StepRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "steps"
    public var runTag: String
    public var name: String
    public var position: Int
    public var status: StepStatus
    public var startedAt: Double?
    public var finishedAt: Double?
    public var attempts: Int
    public var error: String?
    public var cachedFrom: String?
}

/// A row of `attempts`.
public struct AttemptRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "attempts"
    public var runTag: String
    public var step: String
    public var number: Int
    public var host: String
    public var pid: Int32?
    public var startedAt: Double
    public var finishedAt: Double?
    public var exitStatus: Int32?
    public var signal: Int32?
    public var error: String?
}

/// A row of `metrics`.
public struct MetricRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "metrics"
    public var runTag: String
    public var step: String
    public var series: String
    public var name: String
    public var x: Int?
    public var value: Double
    public var at: Double
}
