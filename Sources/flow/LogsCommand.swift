import ArgumentParser
import FlowEngine
import Foundation

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a run's logs, prefixed by step; -f follows them to the run's end.")

    @Argument(help: "The run's tag (or a unique prefix).") var tag: String
    @Option(help: "Only this step's log.") var step: String?
    @Flag(name: [.customShort("f"), .long], help: "Follow until the run ends; exit with its status.") var follow = false
    @Option(help: "Only the last N lines (before following).") var tail: Int?
    @Flag(help: "Show each line's time (UTC).") var timestamps = false

    func run() async throws {
        let session = try Session()
        var run = try session.database.resolveTag(tag)
        let store = LogStore(directory: session.project.logsDirectory)
        if let step, !store.loggedSteps(run.tag).contains(step) {
            let steps = try session.database.steps(of: run.tag).map(\.name)
            guard steps.contains(step) else {
                throw FlowError.config("run \(run.tag) has no step '\(step)'"
                    + (steps.isEmpty ? "" : "; its steps: \(steps.joined(separator: ", "))"))
            }
        }
        let reader = LogReader(store: store, tag: run.tag)
        let width = max(4, (try session.database.steps(of: run.tag)).map(\.name.count).max() ?? 4)
        var lines = reader.readNew(step: step)
        if let tail { lines = Array(lines.suffix(tail)) }
        for l in lines { Terminal.line(RunReport.logLine(l, width: width, timestamps: timestamps)) }
        guard follow else { return }
        while true {
            run = try session.database.checkLiveness(try session.database.run(run.tag) ?? run)
            if run.status.isFinished {
                for l in reader.readNew(step: step) { Terminal.line(RunReport.logLine(l, width: width, timestamps: timestamps)) }
                break
            }
            reader.waitForChange(timeout: 1)
            for l in reader.readNew(step: step) { Terminal.line(RunReport.logLine(l, width: width, timestamps: timestamps)) }
        }
        switch run.status {
        case .succeeded: return
        case .stopped: throw ExitCode(130)
        default: throw ExitCode(1)
        }
    }
}

struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a running run and its steps.")

    @Argument(help: "The run's tag (or a unique prefix).") var tag: String
    @Flag(help: "Print JSON: {\"tag\", \"status\"}.") var json = false

    struct Output: Encodable {
        var tag: String
        var status: String
    }

    func run() async throws {
        let session = try Session()
        let run = try session.database.checkLiveness(try session.database.resolveTag(tag))
        guard !run.status.isFinished, let pid = run.supervisorPid else {
            Terminal.line(json ? Terminal.json(Output(tag: run.tag, status: run.status.rawValue))
                : "run \(run.tag) is not running (\(run.status.rawValue))")
            return
        }
        // A supervisor that has just started may not listen for SIGTERM yet: it does once the run is `running`.
        var current = run
        let deadline = Date().addingTimeInterval(30)
        while current.status == .pending, Date() < deadline, !Supervisor.waitForExit(pid: pid, timeout: 0.05) {
            current = try session.database.run(run.tag) ?? current
        }
        kill(pid, SIGTERM)
        if !Supervisor.waitForExit(pid: pid, timeout: 60) {
            throw FlowError(.internalError, "run \(run.tag) did not stop within 60 s (supervisor pid \(pid))",
                            hint: "kill -9 \(pid) ends it; its steps' process groups may need the same")
        }
        let final = try session.database.checkLiveness(try session.database.run(run.tag) ?? run)
        Terminal.line(json ? Terminal.json(Output(tag: run.tag, status: final.status.rawValue))
            : "run \(run.tag) \(final.status.rawValue)")
    }
}
