import Dispatch
import Foundation

/// The entry point of a compiled workflow binary: `describe OUT.json` or `run-step INVOCATION.json`.
///
/// The engine appends a call to `WorkflowMain.run()` after the user's workflow file; the same binary is the worker
/// that runs that workflow's Swift functions, one invocation per process.
public enum WorkflowMain {
    /// Dispatches on the command line and exits.
    public static func run(arguments: [String] = CommandLine.arguments) -> Never {
        let args = Array(arguments.dropFirst())
        do {
            switch args.first {
            case "describe" where args.count == 2:
                let specs = WorkflowRegistry.shared.all.map(\.spec)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try encoder.encode(specs).write(to: URL(fileURLWithPath: args[1]), options: .atomic)
                exit(0)
            case "step-key" where args.count == 3:
                let data = try Data(contentsOf: URL(fileURLWithPath: args[1]))
                let invocation = try JSONDecoder().decode(WorkerInvocation.self, from: data)
                exit(stepKey(invocation, out: URL(fileURLWithPath: args[2])))
            case "run-step" where args.count == 2:
                let data = try Data(contentsOf: URL(fileURLWithPath: args[1]))
                let invocation = try JSONDecoder().decode(WorkerInvocation.self, from: data)
                exit(runStep(invocation))
            default:
                FileHandle.standardError.write(
                    Data("usage: \(arguments.first ?? "workflow") describe OUT.json | run-step INVOCATION.json\n".utf8))
                exit(2)
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            exit(2)
        }
    }

    private static func stepKey(_ invocation: WorkerInvocation, out: URL) -> Int32 {
        guard let step = WorkflowRegistry.shared.all.first(where: { $0.name == invocation.workflow })?
            .steps.first(where: { $0.name == invocation.step }), let material = step.keyMaterial
        else {
            FileHandle.standardError.write(Data("error: step '\(invocation.step)' has no cache-key material\n".utf8))
            return 2
        }
        let context = StepContext(invocation: invocation)
        let result = Outcome()
        let done = DispatchSemaphore(value: 0)
        let box = KeyBox()
        Task {
            do { box.parts = try await material(context) } catch { result.set(1, "\(error)") }
            done.signal()
        }
        done.wait()
        let (code, message) = result.get()
        if code != 0 {
            FileHandle.standardError.write(Data("error: computing the cache key of '\(invocation.step)': \(message ?? "")\n".utf8))
            return code
        }
        do {
            try JSONEncoder().encode(box.parts).write(to: out, options: .atomic)
        } catch {
            return 1
        }
        return 0
    }

    private static func runStep(_ invocation: WorkerInvocation) -> Int32 {
        guard let workflow = WorkflowRegistry.shared.all.first(where: { $0.name == invocation.workflow }) else {
            FileHandle.standardError.write(Data("error: this binary declares no workflow '\(invocation.workflow)'\n".utf8))
            return 2
        }
        guard let step = workflow.steps.first(where: { $0.name == invocation.step }),
            case .function(let body) = step.action
        else {
            FileHandle.standardError.write(
                Data("error: workflow '\(workflow.name)' has no Swift function '\(invocation.step)'\n".utf8))
            return 2
        }
        let context = StepContext(invocation: invocation)
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let task = Task {
            do {
                try await body(context)
            } catch is CancellationError {
                outcome.set(143, "cancelled")
            } catch {
                outcome.set(1, "\(error)")
            }
            done.signal()
        }
        // SIGTERM (timeout, stop) cancels the body; the engine sends SIGKILL after its grace period.
        signal(SIGTERM, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        source.setEventHandler { task.cancel() }
        source.resume()
        done.wait()
        let (code, message) = outcome.get()
        if let message, code != 0 {
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        }
        return code
    }
}

/// The result of a step body, set once from the task.
private final class Outcome: @unchecked Sendable {
    private let lock = NSLock()
    private var code: Int32 = 0
    private var message: String?

    func set(_ code: Int32, _ message: String) {
        lock.lock()
        self.code = code
        self.message = message
        lock.unlock()
    }

    func get() -> (Int32, String?) {
        lock.lock()
        defer { lock.unlock() }
        return (code, message)
    }
}

private final class KeyBox: @unchecked Sendable {
    var parts: [String] = []
}
