import FlowKit
import Foundation

/// Runs a plan: steps whose dependencies are done start in parallel up to the CPU slots, each attempt in its own
/// process group, with timeouts, retries with backoff, and failures that stop only their dependents.
public final class RunEngine: @unchecked Sendable {
    public let project: Project
    public let database: RunDatabase
    public let logs: LogStore
    /// CPU slots steps share; a step takes `cpu` slots (default 1).
    public let slots: Int
    /// The content store of this project.
    public let store: ContentStore

    private let lock = NSLock()
    private var running: [String: any StepStoppable] = [:]
    private var stopRequested = false
    private var scheduler: Task<RunStatus, Never>?

    public init(project: Project, database: RunDatabase, slots: Int? = nil) {
        self.project = project
        self.database = database
        self.logs = LogStore(directory: project.logsDirectory)
        let env = ProcessInfo.processInfo.environment["FLOW_JOBS"].flatMap(Int.init)
        self.slots = max(1, slots ?? env ?? ProcessInfo.processInfo.activeProcessorCount)
        self.store = ContentStore(directory: project.storeDirectory.appendingPathComponent("objects"),
                                  verifiedObjects: database)
    }

    /// The machine's memory, which steps' `memory` requests share.
    public static let physicalMemoryMiB = Int(ProcessInfo.processInfo.physicalMemory / (1 << 20))

    /// Records a new run of `plan` under `tag`, with the process that supervises it.
    public func register(_ plan: RunPlan, tag: String, supervisor: Int32?) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let params = (try? encoder.encode(plan.params)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let targets = (try? encoder.encode(plan.targets)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        let git = Provenance.git(at: project.root)
        let created = Date().timeIntervalSince1970
        let provenance = Provenance(
            tag: tag, workflow: plan.workflow.name, workflowFile: plan.loaded.compiled.source.path,
            workflowFileDigest: plan.loaded.compiled.sourceDigest, params: plan.params, targets: plan.targets,
            steps: plan.steps, gitCommit: git.commit, gitDirty: git.dirty, gitDiffDigest: git.diffDigest,
            flowVersion: FlowVersion.current, host: ProcessInfo.processInfo.hostName, createdAt: created)
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let provenanceJSON = try encoder.encode(provenance)
        let runDir = project.runsDirectory.appendingPathComponent(tag, isDirectory: true)
        try FileManager.default.createDirectory(at: runDir, withIntermediateDirectories: true)
        try provenanceJSON.write(to: runDir.appendingPathComponent("run.json"), options: .atomic)
        try database.createRun(
            RunRecord(
                tag: tag, workflow: plan.workflow.name, workflowFile: plan.loaded.compiled.source.path,
                status: .pending, targets: targets, params: params, createdAt: created,
                supervisorPid: supervisor, supervisorStart: supervisor.flatMap(ProcessIdentity.startTime(of:)),
                host: ProcessInfo.processInfo.hostName,
                provenance: String(decoding: provenanceJSON, as: UTF8.self)),
            steps: plan.steps)
    }

    /// Stops the run: running steps get SIGTERM (then SIGKILL), waiting steps never start. Safe from any thread.
    public func stop() {
        lock.lock()
        stopRequested = true
        let children = Array(running.values)
        let task = scheduler
        lock.unlock()
        children.forEach { $0.stop() }
        task?.cancel()
    }

    /// Whether `execute` has begun.
    public var hasStarted: Bool { lock.withLock { scheduler != nil } }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }

    /// Runs the registered run `tag` to its end and returns how it ended.
    public func execute(_ plan: RunPlan, tag: String, onEvent: @escaping @Sendable (RunEvent) -> Void) async -> RunStatus {
        let task = Task { await self.schedule(plan, tag: tag, onEvent: onEvent) }
        let stopNow = lock.withLock {
            scheduler = task
            return stopRequested
        }
        if stopNow { task.cancel() }
        return await task.value
    }

    private func schedule(_ plan: RunPlan, tag: String, onEvent: @escaping @Sendable (RunEvent) -> Void) async -> RunStatus {
        let runLog = try? logs.writer(tag: tag, step: nil)
        let now = { Date().timeIntervalSince1970 }
        try? database.write { db in
            try db.execute(sql: "UPDATE runs SET status = 'running' WHERE tag = ?", arguments: [tag])
        }
        var started = RunEvent(.runStarted, tag: tag, time: now())
        started.steps = plan.steps
        onEvent(started)
        runLog?.append("run \(tag) of workflow '\(plan.workflow.name)': \(plan.steps.count) steps", attempt: 0)

        let redactor = Redactor(secrets: plan.secrets.values.flatMap(\.values))
        let context = StepRunner(
            engine: self, plan: plan, tag: tag, redactor: redactor, runLog: runLog, onEvent: onEvent)

        var status: [String: StepStatus] = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0, .waiting) })
        var hosts = HostAllocator(placement: plan.placement, cpuSlots: slots, memoryMiB: Self.physicalMemoryMiB)
        var grants: [String: HostAllocator.Grant] = [:]
        var announcedWaits = Set<String>()
        let cost: (String) -> Int = { name in
            let cpu = plan.graph.step(name)?.attributes.cpu ?? 1
            return min(self.slots, max(1, Int(cpu.rounded(.up))))
        }
        let memory: (String) -> Int = { name in min(Self.physicalMemoryMiB, plan.graph.step(name)?.attributes.memoryMiB ?? 0) }

        // Waiting steps become ready when every planned dependency has succeeded (or was cached); ready steps start
        // in plan order as slots, memory and GPUs allow. Each finish touches only its dependents.
        let order = Dictionary(uniqueKeysWithValues: plan.steps.enumerated().map { ($1, $0) })
        var unmet: [String: Int] = [:]
        var ready: [Int] = []
        for (i, name) in plan.steps.enumerated() {
            let n = Set(plan.graph.dependencies[name, default: []]).filter { order[$0] != nil }.count
            unmet[name] = n
            if n == 0 { ready.append(i) }
        }

        await withTaskGroup(of: (String, StepOutcome).self) { group in
            func startReady() {
                var kept: [Int] = []
                for (k, i) in ready.enumerated() {
                    if !hosts.hasRoom || Task.isCancelled || isStopping {
                        kept += ready[k...]
                        break
                    }
                    let name = plan.steps[i]
                    guard status[name] == .waiting else { continue }
                    // Steps queue while the CPU slots, memory, GPUs or host slots they need are busy.
                    guard let grant = hosts.acquire(name, cpu: cost(name), memoryMiB: memory(name)) else {
                        if let reason = hosts.waitReason(name), announcedWaits.insert(name).inserted {
                            announceWait(name, reason, tag: tag, runLog: runLog, onEvent: onEvent)
                        }
                        kept.append(i)
                        continue
                    }
                    grants[name] = grant
                    context.assign(name, grant)
                    status[name] = .running
                    group.addTask { (name, await context.runAllAttempts(name)) }
                }
                ready = kept
            }
            func release(_ name: String) {
                for d in plan.graph.dependents(of: name) {
                    guard let n = unmet[d], let i = order[d] else { continue }
                    unmet[d] = n - 1
                    if n == 1 {
                        let at = ready.firstIndex { $0 > i } ?? ready.endIndex
                        ready.insert(i, at: at)
                    }
                }
            }
            startReady()
            while let (name, outcome) = await group.next() {
                if let grant = grants.removeValue(forKey: name) { hosts.release(grant) }
                switch outcome {
                case .succeeded:
                    status[name] = .succeeded
                    release(name)
                case .cached:
                    status[name] = .cached
                    release(name)
                case .failed(let error):
                    status[name] = .failed
                    skipDependents(of: name, plan: plan, status: &status, tag: tag, reason: error, runLog: runLog,
                                   onEvent: onEvent)
                case .cancelled:
                    status[name] = .cancelled
                }
                startReady()
            }
        }

        let stopped = isStopping || Task.isCancelled
        for name in plan.steps where status[name] == .waiting {
            status[name] = .cancelled
            markStep(tag: tag, name: name, status: .cancelled, error: stopped ? "the run was stopped" : nil)
        }
        let final: RunStatus =
            status.values.contains(.failed) ? .failed : (stopped || status.values.contains(.cancelled) ? .stopped : .succeeded)
        let failedSteps = plan.steps.filter { status[$0] == .failed }
        let error = failedSteps.isEmpty ? nil : "failed: \(failedSteps.joined(separator: ", "))"
        try? database.write { db in
            try db.execute(
                sql: "UPDATE runs SET status = ?, finishedAt = ?, error = ? WHERE tag = ?",
                arguments: [final.rawValue, now(), error, tag])
        }
        runLog?.append("run \(final.rawValue)" + (error.map { " (\($0))" } ?? ""), attempt: 0)
        var finished = RunEvent(.runFinished, tag: tag, time: now())
        finished.status = final.rawValue
        finished.error = error
        finished.exitCode = final == .succeeded ? 0 : (final == .stopped ? 130 : 1)
        onEvent(finished)
        return final
    }

    private func skipDependents(
        of failed: String, plan: RunPlan, status: inout [String: StepStatus], tag: String, reason: String,
        runLog: LogWriter?, onEvent: (RunEvent) -> Void
    ) {
        var stack = plan.graph.dependents(of: failed)
        while let s = stack.popLast() {
            guard status[s] == .waiting else { continue }
            status[s] = .skipped
            let why = "not run: step '\(failed)' failed"
            markStep(tag: tag, name: s, status: .skipped, error: why)
            runLog?.append("\(s): \(why)", attempt: 0)
            var event = RunEvent(.stepFinished, tag: tag, time: Date().timeIntervalSince1970, step: s)
            event.status = StepStatus.skipped.rawValue
            event.error = why
            onEvent(event)
            stack += plan.graph.dependents(of: s)
        }
    }

    private func announceWait(_ name: String, _ reason: String, tag: String, runLog: LogWriter?,
                              onEvent: (RunEvent) -> Void) {
        runLog?.append("\(name): \(reason)", attempt: 0)
        var event = RunEvent(.stepWaiting, tag: tag, time: Date().timeIntervalSince1970, step: name)
        event.detail = reason
        onEvent(event)
    }

    func markStep(tag: String, name: String, status: StepStatus, error: String?, cachedFrom: String? = nil) {
        try? database.write { db in
            try db.execute(
                sql: "UPDATE steps SET status = ?, error = ?, finishedAt = ?, cachedFrom = ? WHERE runTag = ? AND name = ?",
                arguments: [status.rawValue, error, Date().timeIntervalSince1970, cachedFrom, tag, name])
        }
    }

    func track(_ step: String, _ process: (any StepStoppable)?) {
        lock.lock()
        running[step] = process
        let stopNow = stopRequested && process != nil
        lock.unlock()
        if stopNow { process?.stop() }
    }

    var stopping: Bool { isStopping }
}


/// Something the engine can ask to stop a running attempt: a local process group, or a remote step.
protocol StepStoppable: AnyObject, Sendable {
    func stop()
}

extension ChildProcess: StepStoppable {}
