import Foundation

/// A function invocation's body: runs in its own worker process.
public typealias StepBody = @Sendable (StepContext) async throws -> Void

/// Extra cache-key material a step computes from its context before it runs (e.g. the digest of a file its
/// config names), so the cache never reuses outputs made from different content.
public typealias StepKeyMaterial = @Sendable (StepContext) async throws -> [String]

/// One node of a workflow graph: a Swift closure (`Function`) or a shell command (`Command`).
public struct Step: Sendable {
    public enum Action: Sendable {
        case function(StepBody)
        case command(String)
    }

    public let name: String
    public let action: Action
    public var attributes: StepAttributes
    /// Computes extra cache-key material in the worker before the engine looks up the cache.
    public var keyMaterial: StepKeyMaterial?
    /// Where the step is declared (`#filePath`, `#line`), for errors and for hashing its own code.
    public let file: String
    public let line: Int

    /// The serializable description the engine reads.
    public var spec: StepSpec {
        let command: String?
        switch action {
        case .function: command = nil
        case .command(let line): command = line
        }
        var spec = StepSpec(name: name, command: command, attributes: attributes, file: file, line: line)
        spec.hasKeyMaterial = keyMaterial != nil
        return spec
    }
}

/// Something declared in a workflow that becomes a step; gives every step the same attribute modifiers.
public protocol StepDeclaration: WorkflowContent {
    var step: Step { get set }
}

extension StepDeclaration {
    public var components: [WorkflowComponent] { [.step(step)] }

    private func with(_ change: (inout StepAttributes) -> Void) -> Self {
        var copy = self
        change(&copy.step.attributes)
        return copy
    }

    /// Runs after these steps; their outputs become this step's inputs.
    public func needs(_ steps: String...) -> Self { with { $0.needs += steps } }
    /// Runs after these steps; their outputs become this step's inputs.
    public func needs(_ steps: [String]) -> Self { with { $0.needs += steps } }
    /// The GPUs this step needs, e.g. `"A100-80GB:2"`, `"any"`; several are fallbacks in order.
    public func gpu(_ requests: String...) -> Self { with { $0.gpu = requests } }
    /// The GPUs this step needs, e.g. `"A100-80GB:2"`, `"any"`; several are fallbacks in order.
    public func gpu(_ requests: [String]) -> Self { with { $0.gpu = requests } }
    /// Limit for one attempt; the step's process group is sent SIGTERM, then SIGKILL after a grace period.
    public func timeout(_ duration: Duration) -> Self { with { $0.timeoutSeconds = duration.seconds } }
    /// Retries a failed attempt `count` times, waiting `initialDelay · backoff^n` (capped at `maxDelay`).
    public func retries(
        _ count: Int, backoff: Double = 2.0, initialDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(60)
    ) -> Self {
        with {
            $0.retries = RetryPolicy(
                count: count, backoff: backoff, initialDelaySeconds: initialDelay.seconds,
                maxDelaySeconds: maxDelay.seconds)
        }
    }
    /// Secret groups (`secrets/<name>.env`) injected as environment variables.
    public func secrets(_ groups: String...) -> Self { with { $0.secrets += groups } }
    /// Mounts the named, versioned volume at `path` for this step.
    public func volume(_ path: String, _ name: String) -> Self {
        with { $0.volumes.append(VolumeMount(path: path, name: name)) }
    }
    /// CPU cores: the step's share of the engine's slots and its BLAS/OpenMP thread count.
    public func cpu(_ cores: Double) -> Self { with { $0.cpu = cores } }
    /// Memory the step is expected to use, in MiB; the scheduler does not overcommit it.
    public func memory(_ mebibytes: Int) -> Self { with { $0.memoryMiB = mebibytes } }
    /// Non-secret environment variables; they are part of the step's cache key.
    public func env(_ variables: [String: String]) -> Self {
        with { $0.env.merge(variables) { _, new in new } }
    }
}

/// A step whose body is a Swift closure, run in the workflow's worker process.
public struct Function: StepDeclaration {
    public var step: Step

    /// Declares a Swift function step.
    public init(_ name: String, file: String = #filePath, line: Int = #line, _ body: @escaping StepBody) {
        step = Step(name: name, action: .function(body), attributes: StepAttributes(), file: file, line: line)
    }

    /// Adds cache-key material computed before the step runs: content the step reads that no parameter or
    /// input names (a tokenizer a config points at, say). The step re-runs whenever it changes.
    public func cacheKey(_ material: @escaping StepKeyMaterial) -> Function {
        var copy = self
        copy.step.keyMaterial = material
        return copy
    }
}

/// A step that runs a shell command line.
///
/// Placeholders: `{STEP/OUTPUT}` is the path of another step's output (and makes it a dependency),
/// `{output/NAME}` a directory this step writes, `{NAME}` a parameter's value. Values are shell-quoted.
/// `{{` and `}}` are literal braces; `${VAR}` is left to the shell.
public struct Command: StepDeclaration {
    public var step: Step

    /// Declares a shell command step.
    public init(_ name: String, _ commandLine: String, file: String = #filePath, line: Int = #line) {
        step = Step(name: name, action: .command(commandLine), attributes: StepAttributes(), file: file, line: line)
    }
}

extension Duration {
    /// Whole minutes.
    public static func minutes(_ m: Int) -> Duration { .seconds(m * 60) }
    /// Whole hours.
    public static func hours(_ h: Int) -> Duration { .seconds(h * 3600) }

    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
