import FlowKit
import Foundation

/// How one attempt ended, wherever it ran.
struct AttemptResult: Sendable {
    var termination: ChildProcess.Termination = .exited(-1)
    var stopReason: ChildProcess.StopReason?
    var pid: Int32?
    var lastLines: [String] = []
    /// The attempt could not start (bad placeholder, missing volume, unreachable host...).
    var setupError: String?
    /// The attempt ran but failed for a reason other than its exit status (e.g. outputs lost in transfer).
    var failure: String?
}

/// How a step ended, all attempts counted.
enum StepOutcome: Sendable { case succeeded, cached, failed(String), cancelled }

/// Runs the attempts of one step of a run: its process, environment, log, events and records.
struct StepRunner: Sendable {
    let engine: RunEngine
    let plan: RunPlan
    let tag: String
    let redactor: Redactor
    let runLog: LogWriter?
    let onEvent: @Sendable (RunEvent) -> Void
    let grants = StepGrants()
    let runOutputs = RunOutputs()

    /// Records the host and GPU indices a step was given (before it starts).
    func assign(_ step: String, _ grant: HostAllocator.Grant) { grants.set(step, grant) }

    var database: RunDatabase { engine.database }
    var project: Project { engine.project }

    /// The directory holding a step's outputs in this run.
    func outputsDirectory(_ step: String) -> URL {
        project.runsDirectory.appendingPathComponent(tag, isDirectory: true).appendingPathComponent(step, isDirectory: true)
    }

    func runAllAttempts(_ name: String) async -> StepOutcome {
        guard let step = plan.graph.step(name) else { return .failed("unknown step") }
        let key: ActionKey
        do {
            key = try await actionKey(step)
        } catch {
            let message = redactor.redact("\(error)")
            finish(name, status: .failed, attempt: 0, error: message)
            return .failed(message)
        }
        if plan.useCache, !plan.force.contains(name), let hit = try? database.cachedAction(key.digest) {
            if let damage = restore(hit, step: name, key: key) {
                runLog?.append("\(name): the cached outputs from \(hit.runTag) are unusable (\(damage)); running the step",
                               attempt: 0)
            } else {
                runLog?.append("\(name): cached (from \(hit.runTag))", attempt: 0)
                var event = RunEvent(.stepFinished, tag: tag, time: now(), step: name)
                event.status = StepStatus.cached.rawValue
                event.cachedFrom = hit.runTag
                onEvent(event)
                return .cached
            }
        }
        try? database.write { db in
            try db.execute(sql: "UPDATE steps SET cacheKey = ? WHERE runTag = ? AND name = ?",
                           arguments: [key.digest.hex, tag, name])
        }
        let policy = step.attributes.retries
        var attempt = 0
        let stepStart = now()
        while true {
            attempt += 1
            if engine.stopping || Task.isCancelled {
                engine.markStep(tag: tag, name: name, status: .cancelled, error: "the run was stopped")
                return .cancelled
            }
            var result = await runAttempt(step, attempt: attempt)
            if case .succeeded = result {
                do {
                    try publish(step: name, key: key)
                } catch {
                    result = .failed("its outputs could not be stored: \(error)")
                }
            }
            switch result {
            case .succeeded, .cached:
                finish(name, status: .succeeded, attempt: attempt, error: nil, seconds: now() - stepStart)
                return .succeeded
            case .cancelled:
                return .cancelled
            case .failed(let error):
                guard attempt <= policy.count, !engine.stopping else {
                    finish(name, status: .failed, attempt: attempt, error: error)
                    return .failed(error)
                }
                let delay = policy.delay(beforeRetry: attempt)
                runLog?.append("\(name): attempt \(attempt) failed (\(error)); retrying in \(format(delay))", attempt: attempt)
                var event = RunEvent(.stepRetrying, tag: tag, time: now(), step: name)
                event.attempt = attempt
                event.error = error
                event.seconds = delay
                onEvent(event)
                do {
                    try await Task.sleep(for: .seconds(delay))
                } catch {
                    finish(name, status: .cancelled, attempt: attempt, error: "the run was stopped")
                    return .cancelled
                }
            }
        }
    }

    private func finish(_ name: String, status: StepStatus, attempt: Int, error: String?, seconds: Double? = nil) {
        engine.markStep(tag: tag, name: name, status: status, error: error)
        var event = RunEvent(.stepFinished, tag: tag, time: now(), step: name)
        event.status = status.rawValue
        event.attempt = attempt
        event.error = error
        event.seconds = seconds
        onEvent(event)
    }

    private func runAttempt(_ step: StepSpec, attempt: Int) async -> StepOutcome {
        let name = step.name
        let startedAt = now()
        let writer: LogWriter
        do {
            writer = try engine.logs.writer(tag: tag, step: name)
        } catch {
            return .failed("\(error)")
        }
        let outputs = outputsDirectory(name)
        let fm = FileManager.default
        FilePermissions.remove(outputs)
        try? fm.createDirectory(at: outputs, withIntermediateDirectories: true)

        let result: AttemptResult
        if let host = grants.get(name)?.host, !host.isLocal {
            result = await runRemote(step, attempt: attempt, host: host, writer: writer, startedAt: startedAt)
        } else {
            result = await runLocal(step, attempt: attempt, outputs: outputs, writer: writer, startedAt: startedAt)
        }
        if let setupError = result.setupError {
            writer.append("error: \(setupError)", attempt: attempt)
            recordAttempt(name, attempt, startedAt: startedAt, pid: nil, termination: nil, error: setupError)
            return .failed(setupError)
        }
        let seconds = now() - startedAt
        var error: String?
        switch result.stopReason {
        case .timeout?:
            error = "timed out after \(format(step.attributes.timeoutSeconds ?? 0)) (SIGTERM, then SIGKILL after the grace period)"
        case .stopped?:
            error = "stopped"
        case nil:
            if let failure = result.failure {
                error = failure
            } else if !result.termination.succeeded {
                let lines = result.lastLines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                let tail = lines.last(where: { $0.localizedCaseInsensitiveContains("error") }) ?? lines.last
                error = result.termination.description + (tail.map { ": \($0)" } ?? "")
            }
        }
        recordAttempt(name, attempt, startedAt: startedAt, pid: result.pid, termination: result.termination, error: error)
        runLog?.append("\(name): attempt \(attempt) \(error.map { "failed: \($0)" } ?? "succeeded") in \(format(seconds))",
                       attempt: attempt)
        if result.stopReason == .stopped {
            finish(name, status: .cancelled, attempt: attempt, error: "stopped", seconds: seconds)
            return .cancelled
        }
        if let error { return .failed(error) }
        do {
            try commitVolumes(step, writer: writer, attempt: attempt)
        } catch {
            return .failed("its volume changes could not be committed: \(redactor.redact("\(error)"))")
        }
        return .succeeded
    }

    /// Runs one attempt as a local process group.
    private func runLocal(_ step: StepSpec, attempt: Int, outputs: URL, writer: LogWriter, startedAt: Double) async
        -> AttemptResult
    {
        let name = step.name
        let options: ChildProcess.Options
        do {
            try materializeInputs(of: name)
            let mounts = try mountVolumes(step)
            options = try processOptions(step, attempt: attempt, outputs: outputs, mounts: mounts)
        } catch {
            return AttemptResult(setupError: redactor.redact("\(error)"))
        }
        let process: ChildProcess
        do {
            process = try ChildProcess(options)
        } catch {
            return AttemptResult(setupError: "\(error)")
        }
        beginAttempt(name, attempt: attempt, startedAt: startedAt, pid: process.pid, where: "pid \(process.pid)")
        engine.track(name, process)
        let lastLines = LineCollector()
        let redactor = self.redactor
        let result = await process.wait(
            output: { line in
                let clean = redactor.redact(line)
                writer.append(clean, attempt: attempt)
                lastLines.keepLast(clean, limit: 20)
            },
            event: { line in handleEvent(line, step: name, attempt: attempt) })
        engine.track(name, nil)
        return AttemptResult(termination: result.termination, stopReason: result.stopReason, pid: process.pid,
                             lastLines: lastLines.lines)
    }

    /// Records that an attempt runs (database, run log, event).
    func beginAttempt(_ name: String, attempt: Int, startedAt: Double, pid: Int32?, where place: String) {
        recordAttempt(name, attempt, startedAt: startedAt, pid: pid, termination: nil, error: nil)
        try? database.write { db in
            try db.execute(
                sql: "UPDATE steps SET status = 'running', attempts = ?, startedAt = COALESCE(startedAt, ?) WHERE runTag = ? AND name = ?",
                arguments: [attempt, startedAt, tag, name])
        }
        runLog?.append("\(name): started attempt \(attempt) (\(place))", attempt: attempt)
        var started = RunEvent(.stepStarted, tag: tag, time: startedAt, step: name)
        started.attempt = attempt
        started.host = grants.get(name)?.host.name
        onEvent(started)
    }

    func handleEvent(_ line: String, step: String, attempt: Int) {
        guard let data = redactor.redact(line).data(using: .utf8),
            let event = try? JSONDecoder().decode(StepEvent.self, from: data)
        else { return }
        let time = now()
        if let metrics = event.metrics, !metrics.isEmpty {
            try? database.write { db in
                for (key, value) in metrics where value.isFinite {
                    try MetricRecord(
                        runTag: tag, step: step, series: event.series ?? (event.kind == .progress ? "train" : "eval"),
                        name: key, x: event.step, value: value, at: time
                    ).insert(db)
                }
            }
        }
        var out = RunEvent(.stepProgress, tag: tag, time: time, step: step)
        out.attempt = attempt
        out.completed = event.completed
        out.total = event.total
        out.unit = event.unit
        out.metrics = event.metrics
        onEvent(out)
    }

    func recordAttempt(_ step: String, _ number: Int, startedAt: Double, pid: Int32?,
                               termination: ChildProcess.Termination?, error: String?) {
        var exit: Int32?
        var signal: Int32?
        switch termination {
        case .exited(let c)?: exit = c
        case .signaled(let s)?: signal = s
        case nil: break
        }
        let record = AttemptRecord(
            runTag: tag, step: step, number: number, host: grants.get(step)?.host.name ?? "local", pid: pid, startedAt: startedAt,
            finishedAt: termination == nil && error == nil ? nil : now(), exitStatus: exit, signal: signal, error: error)
        try? database.write { db in try record.save(db) }
    }

    private func processOptions(_ step: StepSpec, attempt: Int, outputs: URL, mounts: [String: String]) throws
        -> ChildProcess.Options
    {
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("FLOW_") { env[key] = nil }
        env.merge(step.attributes.env) { _, new in new }
        for group in step.attributes.secrets {
            env.merge(plan.secrets[group] ?? [:]) { _, new in new }
        }
        if let cpu = step.attributes.cpu {
            let threads = String(max(1, Int(cpu.rounded(.up))))
            env["OPENBLAS_NUM_THREADS"] = threads
            env["OMP_NUM_THREADS"] = threads
        }
        if let devices = visibleDevices(step.name) { env["CUDA_VISIBLE_DEVICES"] = devices }
        // Command steps can call `flow llm ...` (e.g. a serve step) with the same flow that runs them.
        let flowDirectory = URL(fileURLWithPath: Supervisor.currentExecutable).deletingLastPathComponent().path
        env["PATH"] = flowDirectory + (env["PATH"].map { ":" + $0 } ?? ":/usr/local/bin:/usr/bin:/bin")
        env["FLOW_RUN_TAG"] = tag
        env["FLOW_STEP"] = step.name
        env["FLOW_ATTEMPT"] = String(attempt)
        env["FLOW_OUTPUTS"] = outputs.path

        let inputs = inputPaths(step)
        var options: ChildProcess.Options
        if let template = plan.graph.templates[step.name] {
            let line = try template.render { part in
                switch part {
                case .input(let s, let o):
                    guard let path = inputs["\(s)/\(o)"] else {
                        throw FlowError.config(
                            "step '\(step.name)' reads {\(s)/\(o)}, but step '\(s)' wrote no output '\(o)'"
                                + Suggestion.didYouMean("\(s)/\(o)", in: Array(inputs.keys)))
                    }
                    return path
                case .output(let o):
                    let dir = outputs.appendingPathComponent(o, isDirectory: true)
                    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                    return dir.path
                case .param(let p):
                    return plan.params[p] ?? ""
                case .volume(let path):
                    return mounts[path] ?? ""
                case .literal(let s):
                    return s
                }
            }
            options = ChildProcess.Options(
                executable: "/bin/sh", arguments: ["-c", line], environment: env, workingDirectory: project.root.path)
        } else {
            let invocation = WorkerInvocation(
                workflow: plan.workflow.name, step: step.name, runTag: tag, attempt: attempt, params: plan.params,
                inputs: inputs, outputsDirectory: outputs.path, volumes: mounts, workDirectory: project.root.path)
            let dir = project.runsDirectory.appendingPathComponent(tag).appendingPathComponent(".invocations")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let file = dir.appendingPathComponent("\(step.name).\(attempt).json")
            try JSONEncoder().encode(invocation).write(to: file, options: .atomic)
            options = ChildProcess.Options(
                executable: plan.loaded.compiled.binary.path, arguments: ["run-step", file.path], environment: env,
                workingDirectory: project.root.path)
            options.wantsEventDescriptor = true
        }
        options.timeoutSeconds = step.attributes.timeoutSeconds
        return options
    }
}

extension StepRunner {
    /// `CUDA_VISIBLE_DEVICES` for a GPU step: exactly the indices it was given on its host; nil for other steps.
    func visibleDevices(_ step: String) -> String? {
        guard plan.placement.gpuRequests[step] != nil else { return nil }
        return (grants.get(step)?.gpus ?? []).map(String.init).joined(separator: ",")
    }

    /// `"step/output"` to the folder holding it in this run, for every output of the step's dependencies.
    func inputPaths(_ step: StepSpec) -> [String: String] {
        var inputs: [String: String] = [:]
        for dep in plan.graph.dependencies[step.name, default: []] {
            let dir = outputsDirectory(dep)
            for output in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] where !output.hasPrefix(".") {
                inputs["\(dep)/\(output)"] = dir.appendingPathComponent(output).path
            }
        }
        return inputs
    }
}

func now() -> Double { Date().timeIntervalSince1970 }

func format(_ seconds: Double) -> String {
    if seconds < 1 { return String(format: "%.0fms", seconds * 1000) }
    if seconds < 60 { return String(format: "%.1fs", seconds) }
    let s = Int(seconds.rounded())
    if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
    return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
}

extension LineCollector {
    func keepLast(_ line: String, limit: Int) {
        append(line)
        trim(to: limit)
    }
}

/// Where each started step runs: its host and the GPU indices it holds there.
final class StepGrants: @unchecked Sendable {
    private let lock = NSLock()
    private var map: [String: HostAllocator.Grant] = [:]
    func set(_ step: String, _ grant: HostAllocator.Grant) { lock.withLock { map[step] = grant } }
    func get(_ step: String) -> HostAllocator.Grant? { lock.withLock { map[step] } }
}
