import FlowKit
import Foundation
import GRDB

/// Running a step's attempt on a remote host: a command step as its shell line, a Swift function through the
/// workflow's static worker. Both go the same way: missing input objects sent, then one command that lays the inputs
/// out, starts a detached session and follows its log, then the outputs fetched back verified.
extension StepRunner {
    func runRemote(_ step: StepSpec, attempt: Int, host: HostConfig, writer: LogWriter, startedAt: Double) async
        -> AttemptResult
    {
        let name = step.name
        let transport = SSHTransport(host: host, controlDirectory: project.storeDirectory.appendingPathComponent("ssh"))
        let runner = RemoteStepRunner(transport: transport, store: engine.store, root: host.root,
                                      known: HostObjects.record(for: host, storeDirectory: project.storeDirectory))
        let runDir = "\(host.root)/runs/\(tag)/\(name)/a\(attempt)"
        let control = RemoteControl()
        let spec: RemoteStepRunner.Launch
        var objects = Set<Digest>()
        do {
            // Inputs: send the objects the host lacks; the step lays each one out of the host's store when it starts.
            let deps = plan.graph.dependencies[name, default: []]
            let inputs = try recordedOutputs(of: deps)
            // Parameters naming local files or folders (a config, a dataset) travel too, as trees in the store.
            let checkStart = monotonicNow()
            var paramTrees: [String: (tree: Digest, path: String)] = [:]
            for p in parametersRead(step) {
                if let local = try localTree(forParameter: plan.params[p] ?? "") {
                    paramTrees[p] = (local.tree, "\(runDir)/params/\(p)" + (local.file.map { "/\($0)" } ?? ""))
                }
            }
            // Volumes: each one's head goes to the host like an input, laid out under `volumes/NAME`; what the step
            // leaves there comes back and is committed as the volume's next version.
            var volumeTrees: [(tree: Digest, at: String)] = []
            var emptyVolumes: [String] = []
            var volumePaths: [String: String] = [:]
            for mount in step.attributes.volumes {
                if let head = try volumeBase(name, mount) {
                    volumeTrees.append((head, "volumes/\(mount.name)"))
                } else {
                    emptyVolumes.append("volumes/\(mount.name)")
                }
                volumePaths[mount.path] = "\(runDir)/volumes/\(mount.name)"
            }
            let roots = inputs.compactMap { Digest(hex: $0.digest) } + paramTrees.values.map(\.tree) + volumeTrees.map(\.tree)
            let sendStart = monotonicNow()
            objects = try runner.objectClosure(roots)
            let sent = try await runner.sendMissing(objects)
            let sendEnd = monotonicNow()
            runLog?.append("\(name): sent \(sent) bytes of input objects to \(host.name) in "
                           + "\(seconds(sendEnd - sendStart)) s (local inputs checked in \(seconds(sendStart - checkStart)) s)",
                           attempt: attempt)
            var trees = inputs.compactMap { input in
                Digest(hex: input.digest).map { (tree: $0, at: "inputs/\(input.step)/\(input.name)") }
            }
            trees += paramTrees.sorted(by: { $0.key < $1.key }).map { (tree: $0.value.tree, at: "params/\($0.key)") }
            trees += volumeTrees
            let launch = try await remoteLaunch(step, attempt: attempt, runner: runner, runDir: runDir,
                                                inputs: inputs.map { "\($0.step)/\($0.name)" }, volumes: volumePaths,
                                                params: plan.params.merging(paramTrees.mapValues(\.path)) { _, path in path })
            var env = host.env.merging(step.attributes.env) { _, new in new }
            env["FLOW_RUN_TAG"] = tag
            env["FLOW_STEP"] = name
            env["FLOW_ATTEMPT"] = String(attempt)
            if !step.isCommand { env[StepEvent.onStandardOutputVariable] = "1" }
            if let devices = visibleDevices(name) { env["CUDA_VISIBLE_DEVICES"] = devices }
            var secrets: [String: String] = [:]
            for group in step.attributes.secrets { secrets.merge(plan.secrets[group] ?? [:]) { _, new in new } }
            spec = RemoteStepRunner.Launch(
                runDir: runDir, command: launch.command, environment: env, secrets: secrets, layout: try runner.layout(trees),
                folders: ["outputs"] + launch.outputs.map { "outputs/\($0)" } + emptyVolumes, invocation: launch.invocation)
        } catch {
            return AttemptResult(setupError: redactor.redact("\(error)"))
        }

        beginAttempt(name, attempt: attempt, startedAt: startedAt, pid: nil, where: "on \(host.name)")
        engine.track(name, control)
        defer { engine.track(name, nil) }
        let lastLines = LineCollector()
        let redactor = self.redactor
        let deadline = step.attributes.timeoutSeconds.map { monotonicNow() + $0 }
        do {
            let onLine: @Sendable (String) -> Void = { line in
                // A remote worker's progress events arrive in its log, marked (see `StepEvent.lineMarker`).
                if line.hasPrefix(StepEvent.lineMarker) {
                    handleEvent(String(line.dropFirst(StepEvent.lineMarker.count)), step: name, attempt: attempt)
                    return
                }
                let clean = redactor.redact(line)
                writer.append(clean, attempt: attempt)
                lastLines.keepLast(clean, limit: 20)
            }
            let start = {
                try await runner.run(spec, onLine: onLine, deadline: deadline, control: control,
                                     onStop: { await runner.stop(runDir: runDir, grace: 5) })
            }
            let outcome: RemoteStepRunner.Outcome
            do {
                outcome = try await start()
            } catch is RemoteMissingObjects {
                // The host lost objects flow had recorded it holds: forget the record, ask and send, start again.
                runner.known.reset()
                let sent = try await runner.sendMissing(objects)
                runLog?.append("\(name): \(host.name) lacked objects recorded as sent; sent \(sent) bytes again", attempt: attempt)
                do {
                    outcome = try await start()
                } catch is RemoteMissingObjects {
                    throw FlowError(.stepFailed, "\(host.name) still lacks input objects after they were sent again "
                                    + "(\(runDir)); check its disk and the store under \(host.root)/objects")
                }
            }
            let code = outcome.code
            if code == RemoteStepRunner.lostStatus {
                return AttemptResult(termination: .signaled(SIGKILL), lastLines: lastLines.lines,
                                     failure: "the step's processes on \(host.name) ended without an exit status "
                                        + "(killed, or the host restarted)")
            }
            var result = AttemptResult(termination: .exited(code), pid: nil, lastLines: lastLines.lines)
            if code == 0 {
                do {
                    let fetchStart = monotonicNow()
                    let folders = [(remote: "outputs", local: outputsDirectory(name))]
                        + step.attributes.volumes.map { (remote: "volumes/\($0.name)", local: mountDirectory(name, $0)) }
                    let fetched = try await runner.fetch(runDir: runDir, listing: outcome.listing, folders: folders)
                    runLog?.append("\(name): fetched \(fetched.files) of \(outcome.listing.files.count) output files "
                                   + "(\(fetched.bytes) bytes) from \(host.name) in \(seconds(monotonicNow() - fetchStart)) s; "
                                   + "the others were in the local store", attempt: attempt)
                } catch {
                    result.failure = "\(error)"
                }
            }
            return result
        } catch RemoteStop.timeout {
            return AttemptResult(termination: .signaled(SIGTERM), stopReason: .timeout, lastLines: lastLines.lines)
        } catch RemoteStop.stopped {
            return AttemptResult(termination: .signaled(SIGTERM), stopReason: .stopped, lastLines: lastLines.lines)
        } catch {
            return AttemptResult(termination: .exited(-1), lastLines: lastLines.lines, failure: redactor.redact("\(error)"))
        }
    }
}

/// What runs on the host for one attempt: a shell line, the output folders to create before it, and for a Swift
/// function the worker invocation to write beside it.
private struct RemoteLaunch {
    var command: String
    var outputs: [String] = []
    var invocation: Data?
}

extension StepRunner {
    /// The command step's line with its placeholders pointing into `runDir`, or the worker call for a function.
    /// - Parameters:
    ///   - inputs: the `step/output` names laid out under `runDir/inputs`.
    ///   - volumes: mount path to the volume's folder on the host (under `runDir/volumes`).
    ///   - params: every parameter's value on the host (files and folders already pointing into `runDir/params`).
    private func remoteLaunch(_ step: StepSpec, attempt: Int, runner: RemoteStepRunner, runDir: String,
                              inputs: [String], volumes: [String: String], params: [String: String]) async throws
        -> RemoteLaunch
    {
        let name = step.name
        guard let template = plan.graph.templates[name] else {
            guard let worker = plan.worker else {
                throw FlowError(.internalError, "step '\(name)' is a Swift function, but no worker was linked for this run")
            }
            let sent = try await runner.installWorker(worker)
            runLog?.append("\(name): sent \(sent) bytes of worker \(worker.digest.short) to \(runner.transport.host.name)",
                           attempt: attempt)
            let invocation = WorkerInvocation(
                workflow: plan.workflow.name, step: name, runTag: tag, attempt: attempt, params: params,
                inputs: Dictionary(uniqueKeysWithValues: inputs.map { ($0, "\(runDir)/inputs/\($0)") }),
                outputsDirectory: "\(runDir)/outputs", volumes: volumes, workDirectory: runDir)
            return RemoteLaunch(
                command: "exec \(shellQuote(runner.workerPath(worker.digest))) run-step \(shellQuote("\(runDir)/invocation.json")) 3>&-",
                invocation: try JSONEncoder().encode(invocation))
        }
        var outputs: [String] = []
        let command = try template.render { part in
            switch part {
            case .input(let s, let o):
                guard inputs.contains("\(s)/\(o)") else {
                    throw FlowError.config("step '\(name)' reads {\(s)/\(o)}, but step '\(s)' wrote no output '\(o)'")
                }
                return "\(runDir)/inputs/\(s)/\(o)"
            case .output(let o):
                outputs.append(o)
                return "\(runDir)/outputs/\(o)"
            case .param(let p): return params[p] ?? ""
            case .volume(let v):
                guard let path = volumes[v] else {
                    throw FlowError.config("step '\(name)' uses {\(v)}, but mounts no volume at \(v): add .volume(\"\(v)\", \"NAME\")")
                }
                return path
            case .literal(let s): return s
            }
        }
        return RemoteLaunch(command: command, outputs: outputs)
    }
}

/// Seconds with millisecond precision, for log lines.
private func seconds(_ interval: Double) -> String { String(format: "%.3f", interval) }
