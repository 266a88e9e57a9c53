import ArgumentParser
import Dispatch
import FlowEngine
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a workflow's targets (its default targets when none is named).",
        discussion: """
            Workflow parameters are options: Param("learningRate") is --learning-rate VALUE. \
            A path ending in .swift runs that workflow file.
            """)

    @Option(name: .long, help: "The workflow to run (default: the one marked .isDefault(), or the only one).")
    var workflow: String?

    @Flag(help: "Print the run's tag and return; the run goes on in the background.")
    var detach = false

    @Flag(name: .customLong("preproc-only"), help: "Run the preprocessing stage (and what it needs), then stop.")
    var preprocOnly = false

    @Option(name: .customLong("set"), help: "Set a parameter: --set NAME=VALUE (repeatable).")
    var assignments: [String] = []

    @Option(name: .customLong("force"), help: "Run this step even if its outputs are cached (repeatable).")
    var force: [String] = []

    @Option(help: "Run every step on this host from hosts.toml (without it, GPU steps go to hosts with their GPUs and the rest run here).")
    var host: String?

    @Flag(name: .customLong("no-cache"), help: "Run every step; ignore cached outputs.")
    var noCache = false

    @Option(help: "Re-run with exactly the parameters and targets of an earlier run.")
    var reproduce: String?

    @Flag(help: "Print one JSON event per line.")
    var json = false

    @Option(name: .customLong("attach-tag"), help: .hidden)
    var attachTag: String?

    @Argument(parsing: .allUnrecognized, help: "Targets (step names), a workflow file, and --param VALUE pairs.")
    var rest: [String] = []

    func request() throws -> RunPlan.Request {
        var request = RunPlan.Request()
        request.workflowName = workflow
        request.preprocOnly = preprocOnly
        request.force = force
        request.noCache = noCache
        request.host = host
        var i = 0
        while i < rest.count {
            let arg = rest[i]
            if arg.hasPrefix("--") {
                var key = String(arg.dropFirst(2))
                var value: String
                if let eq = key.firstIndex(of: "=") {
                    value = String(key[key.index(after: eq)...])
                    key = String(key[..<eq])
                } else {
                    guard i + 1 < rest.count else {
                        throw FlowError(.usage, "option --\(key) needs a value", hint: "write --\(key) VALUE")
                    }
                    i += 1
                    value = rest[i]
                }
                request.params[key] = value
            } else if arg.hasSuffix(".swift") {
                request.workflowFile = URL(fileURLWithPath: arg)
            } else if arg.hasPrefix("-") {
                throw FlowError(.usage, "unknown option \(arg)", hint: "`flow run --help` lists the options")
            } else {
                request.targets.append(arg)
            }
            i += 1
        }
        for a in assignments {
            guard let eq = a.firstIndex(of: "="), eq != a.startIndex else {
                throw FlowError(.usage, "--set expects NAME=VALUE, got '\(a)'")
            }
            request.params[String(a[..<eq])] = String(a[a.index(after: eq)...])
        }
        return request
    }

    func run() async throws {
        let session = try Session()
        let engine = RunEngine(project: session.project, database: session.database)
        // Ctrl-C and `flow stop` (SIGTERM) stop the run cleanly; the terminal closing does not stop a detached one.
        // Installed first, so a stop that arrives while the workflow compiles is not lost.
        let supervising = attachTag != nil
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        if supervising { signal(SIGHUP, SIG_IGN) }
        let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                if !engine.hasStarted && !supervising { Foundation.exit(130) }
                FileHandle.standardError.write(Data("\nstopping…\n".utf8))
                engine.stop()
            }
            s.resume()
            return s
        }
        defer { sources.forEach { $0.cancel() } }

        try session.database.sweepLostRuns()
        let loader = try session.loader()
        var request = try request()
        if let reproduce {
            let earlier = try session.database.resolveTag(reproduce)
            guard let provenance = earlier.decodedProvenance else {
                throw FlowError.config("run \(earlier.tag) has no recorded provenance to reproduce")
            }
            request.workflowName = provenance.workflow
            if request.workflowFile == nil && !provenance.workflowFile.hasPrefix(session.project.workflowsDirectory.path) {
                request.workflowFile = URL(fileURLWithPath: provenance.workflowFile)
            }
            request.params = provenance.params.merging(request.params) { _, new in new }
            if request.targets.isEmpty && !request.preprocOnly { request.targets = provenance.targets }
        }
        let plan = try await RunPlan.make(request, loader: loader,
                                          secrets: SecretStore(directory: session.project.secretsDirectory))
        let tag: String
        if let attachTag {
            tag = attachTag
            try session.database.write { db in
                try db.execute(
                    sql: "UPDATE runs SET supervisorPid = ?, supervisorStart = ? WHERE tag = ?",
                    arguments: [getpid(), ProcessIdentity.startTime(of: getpid()), tag])
            }
        } else {
            tag = RunTag.make(workflow: plan.workflow.name)
            if json {
                var e = RunEvent(.runStarted, tag: tag, time: Date().timeIntervalSince1970)
                e.status = "created"
                Terminal.line(Terminal.json(e))
            } else {
                Terminal.line(tag)
            }
            if detach {
                try engine.register(plan, tag: tag, supervisor: nil)
                var args = Array(CommandLine.arguments.dropFirst()).filter { $0 != "--detach" }
                args += ["--attach-tag", tag]
                let pid = try Supervisor.spawnDetached(
                    executable: Supervisor.currentExecutable, arguments: args,
                    logFile: engine.logs.runDirectory(tag).appendingPathComponent("supervisor.log"))
                try session.database.write { db in
                    try db.execute(
                        sql: "UPDATE runs SET supervisorPid = ?, supervisorStart = ? WHERE tag = ?",
                        arguments: [pid, ProcessIdentity.startTime(of: pid), tag])
                }
                if !json {
                    FileHandle.standardError.write(Data("""
                        detached: follow with `flow logs \(tag) -f`, stop with `flow stop \(tag)`

                        """.utf8))
                }
                return
            }
            try engine.register(plan, tag: tag, supervisor: getpid())
        }

        let status: RunStatus
        if !json && LiveView.isAvailable {
            let live = LiveView()
            status = await engine.execute(plan, tag: tag) { live.handle($0) }
        } else {
            let printer = RunPrinter(json: json)
            status = await engine.execute(plan, tag: tag) { printer.handle($0) }
        }
        if !json { printSummary(tag: tag, plan: plan, session: session) }
        switch status {
        case .succeeded: return
        case .stopped: throw ExitCode(130)
        default: throw ExitCode(1)
        }
    }
}

extension RunCommand {
    /// The closing summary: steps run and cached, time, scores, and what to try next.
    func printSummary(tag: String, plan: RunPlan, session: Session) {
        guard let run = try? session.database.run(tag), let steps = try? session.database.steps(of: tag) else { return }
        let metrics = (try? session.database.metrics(of: tag)) ?? []
        var next: [(String, String)] = [("flow logs \(tag)", "what the steps printed"),
                                        ("flow runs show \(tag)", "steps, metrics and the loss curve")]
        let read = RunMetrics(metrics)
        if !read.lossCurves.isEmpty || !read.scores.isEmpty {
            next.append(("flow report \(tag)", "an HTML page: config, provenance, curves, predictions"))
        }
        let ran = Set(plan.steps)
        for step in plan.graph.topologicalOrder() where !ran.contains(step) && plan.graph.dependents(of: step).isEmpty {
            next.append(("flow run \(step)" + (plan.loaded.spec.isDefault ? "" : " --workflow \(plan.workflow.name)"),
                         "run '\(step)', which this run left out"))
        }
        if plan.workflow.preprocessingStep != nil, run.status == .succeeded {
            next.append(("flow volume get last_run_prepared", "write out the prepared data"))
            next.append(("flow inspect last_run_prepared", "look at prepared examples, tokens and masks"))
        }
        Terminal.line(RunReport.summary(run, steps: steps, metrics: metrics, next: next))
    }
}

/// Prints run events as plain lines or JSON.
final class RunPrinter: @unchecked Sendable {
    let json: Bool
    private let lock = NSLock()
    private var lastProgress: [String: Double] = [:]

    init(json: Bool) { self.json = json }

    func handle(_ event: RunEvent) {
        lock.lock()
        defer { lock.unlock() }
        if json {
            Terminal.line(Terminal.json(event))
            return
        }
        let step = event.step ?? ""
        switch event.event {
        case .runStarted:
            Terminal.line(Terminal.dim("running \(event.steps?.count ?? 0) steps: \(event.steps?.joined(separator: ", ") ?? "")"))
        case .stepWaiting:
            Terminal.line(Terminal.dim("  · \(step) \(event.detail ?? "waiting")"))
        case .stepStarted:
            let host = event.host.flatMap { $0 == "local" ? nil : " on \($0)" } ?? ""
            Terminal.line("  \(Terminal.yellow("▸")) \(step)\(host)" + ((event.attempt ?? 1) > 1 ? " (attempt \(event.attempt!))" : ""))
        case .stepProgress:
            // At most one progress line a second per step without a live view.
            guard let done = event.completed else { return }
            if let last = lastProgress[step], event.time - last < 1, done != event.total { return }
            lastProgress[step] = event.time
            let total = event.total.map { "/\(Int($0))" } ?? ""
            let metrics = (event.metrics ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key) \(String(format: "%.4g", $0.value))" }.joined(separator: "  ")
            Terminal.line(Terminal.dim("    \(step) \(Int(done))\(total) \(event.unit ?? "")  \(metrics)"))
        case .stepRetrying:
            Terminal.line("  \(Terminal.yellow("↻")) \(step) failed: \(event.error ?? ""); retrying in \(RunReport.duration(event.seconds))")
        case .stepFinished:
            switch event.status {
            case "succeeded":
                Terminal.line("  \(Terminal.green("✓")) \(step) \(Terminal.dim(RunReport.duration(event.seconds)))")
            case "cached":
                Terminal.line("  \(Terminal.green("○")) \(step) \(Terminal.dim("cached (from \(event.cachedFrom ?? "?"))"))")
            case "skipped", "cancelled":
                Terminal.line("  \(Terminal.dim("- \(step) \(event.status ?? ""): \(event.error ?? "")"))")
            default:
                Terminal.line("  \(Terminal.red("✗")) \(step) \(event.status ?? ""): \(event.error ?? "")")
            }
        case .runFinished:
            // The closing summary follows; only a run-level error is said here.
            if let error = event.error { Terminal.line(Terminal.red("run \(event.status ?? ""): \(error)")) }
        }
    }
}
