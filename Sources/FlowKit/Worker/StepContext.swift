import Foundation

/// What a `Function` body receives: parameters, inputs, outputs, a log and a progress reporter.
///
/// Parameters read as properties: `ctx.config` is the value of `Param("config")`.
@dynamicMemberLookup
public struct StepContext: Sendable {
    public let invocation: WorkerInvocation
    /// Lines written here go to the step's log (secrets are masked by the engine).
    public let log: StepLog
    /// Reports progress and metrics that the CLI draws and the run database keeps.
    public let progress: ProgressReporter

    public init(invocation: WorkerInvocation, progress: ProgressReporter = ProgressReporter(), log: StepLog = StepLog()) {
        self.invocation = invocation
        self.progress = progress
        self.log = log
    }

    public var runTag: String { invocation.runTag }
    public var stepName: String { invocation.step }
    public var attempt: Int { invocation.attempt }
    public var params: [String: String] { invocation.params }
    public var workDirectory: URL { URL(fileURLWithPath: invocation.workDirectory, isDirectory: true) }

    /// A parameter's value.
    public func param(_ name: String) throws -> String {
        guard let value = invocation.params[name] else {
            throw StepContextError(
                "step '\(stepName)' reads parameter '\(name)', which the workflow does not declare "
                    + "(declared: \(invocation.params.keys.sorted().joined(separator: ", "))); add Param(\"\(name)\")")
        }
        return value
    }

    /// A parameter's value, as `ctx.name`; an undeclared name ends the step with a clear error.
    public subscript(dynamicMember name: String) -> String {
        do {
            return try param(name)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            exit(2)
        }
    }

    /// The path of another step's output, `"step/output"`; the step must be declared in `needs`.
    public func input(_ reference: String) throws -> URL {
        guard let path = invocation.inputs[reference] else {
            let known = invocation.inputs.keys.sorted()
            throw StepContextError(
                "step '\(stepName)' reads input '\(reference)', which is not among its inputs"
                    + (known.isEmpty ? " (it has none)" : " (\(known.joined(separator: ", ")))")
                    + "; declare the producing step with .needs(\"\(reference.split(separator: "/").first ?? "")\")")
        }
        return URL(fileURLWithPath: path)
    }

    /// A directory this step writes its output `name` into; created on first use.
    public func output(_ name: String) throws -> URL {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw StepContextError("output name '\(name)' of step '\(stepName)' must be a plain name without '/'")
        }
        let url = URL(fileURLWithPath: invocation.outputsDirectory).appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The local directory behind a volume mount path declared with `.volume(path, name)`.
    public func volume(_ mountPath: String) throws -> URL {
        guard let path = invocation.volumes[mountPath] else {
            throw StepContextError(
                "step '\(stepName)' has no volume mounted at '\(mountPath)'; add .volume(\"\(mountPath)\", \"NAME\")")
        }
        return URL(fileURLWithPath: path, isDirectory: true)
    }

    /// Whether the engine asked this step to stop (timeout, `flow stop`, Ctrl-C).
    public var isCancelled: Bool { Task.isCancelled }

    /// Throws `CancellationError` when the engine asked this step to stop.
    public func checkCancellation() throws { try Task.checkCancellation() }
}

/// An error in how a step uses its context.
public struct StepContextError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Writes a step's log lines (to standard output, which the engine captures with timestamps).
public struct StepLog: Sendable {
    public init() {}

    /// Writes one line to the step's log.
    public func info(_ message: String) {
        FileHandle.standardOutput.write(Data((message + "\n").utf8))
    }

    /// Writes one warning line to the step's log.
    public func warning(_ message: String) {
        FileHandle.standardError.write(Data(("warning: " + message + "\n").utf8))
    }
}

/// Sends progress and metric events to the engine.
public struct ProgressReporter: Sendable {
    private let fd: Int32?
    /// Whether events share standard output with log lines, so each needs `StepEvent.lineMarker`.
    private let marked: Bool

    /// A reporter writing to the engine's event descriptor when the worker has one, else to standard output when
    /// the engine asked for that (`StepEvent.onStandardOutputVariable`), else nowhere.
    public init() {
        if fcntl(StepEvent.fileDescriptor, F_GETFD) >= 0 {
            (fd, marked) = (StepEvent.fileDescriptor, false)
        } else if ProcessInfo.processInfo.environment[StepEvent.onStandardOutputVariable] == "1" {
            (fd, marked) = (STDOUT_FILENO, true)
        } else {
            (fd, marked) = (nil, false)
        }
    }

    /// Reports `completed` of `total` units done, with metrics at this point.
    public func update(
        completed: Double, total: Double?, unit: String = "steps", metrics: [String: Double] = [:], step: Int? = nil
    ) {
        send(StepEvent(kind: .progress, completed: completed, total: total, unit: unit,
                       metrics: metrics.isEmpty ? nil : metrics, step: step))
    }

    /// Records metrics (e.g. eval loss, exact match) without moving the progress bar.
    public func record(_ metrics: [String: Double], step: Int? = nil, series: String? = nil) {
        send(StepEvent(kind: .metric, metrics: metrics, step: step, series: series))
    }

    private func send(_ event: StepEvent) {
        guard let fd, let json = try? JSONEncoder().encode(event) else { return }
        // One write per event, so a line of the log written beside it cannot land inside it.
        var data = marked ? Data(StepEvent.lineMarker.utf8) : Data()
        data.append(json)
        data.append(0x0A)
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
