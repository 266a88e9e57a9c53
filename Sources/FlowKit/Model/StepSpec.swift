import Foundation

/// The serializable description of one step, as the engine reads it from a compiled workflow.
public struct StepSpec: Sendable, Codable, Equatable {
    public var name: String
    /// The command line for command steps; nil for Swift functions.
    public var command: String?
    public var attributes: StepAttributes
    public var file: String
    public var line: Int
    /// Whether the step computes extra cache-key material in its worker (`Function.cacheKey`).
    public var hasKeyMaterial = false

    public init(name: String, command: String?, attributes: StepAttributes, file: String, line: Int) {
        self.name = name
        self.command = command
        self.attributes = attributes
        self.file = file
        self.line = line
    }

    public var isCommand: Bool { command != nil }
}

/// The attributes every step can carry (`gpu`, `timeout`, `retries`, `secrets`, `volume`, `cpu`, ...).
public struct StepAttributes: Sendable, Codable, Equatable {
    public var needs: [String] = []
    public var gpu: [String] = []
    public var timeoutSeconds: Double?
    public var retries = RetryPolicy()
    public var secrets: [String] = []
    public var volumes: [VolumeMount] = []
    public var cpu: Double?
    public var memoryMiB: Int?
    public var env: [String: String] = [:]

    public init() {}
}

/// How a failed attempt is retried (Modal's `Retries`).
public struct RetryPolicy: Sendable, Codable, Equatable {
    public var count: Int = 0
    public var backoff: Double = 2.0
    public var initialDelaySeconds: Double = 1.0
    public var maxDelaySeconds: Double = 60.0

    public init(count: Int = 0, backoff: Double = 2.0, initialDelaySeconds: Double = 1.0, maxDelaySeconds: Double = 60.0) {
        self.count = count
        self.backoff = backoff
        self.initialDelaySeconds = initialDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
    }

    /// The wait before retry number `retry` (1-based).
    public func delay(beforeRetry retry: Int) -> Double {
        min(maxDelaySeconds, initialDelaySeconds * Foundation.pow(backoff, Double(max(0, retry - 1))))
    }
}

/// A named volume mounted into a step at a path.
public struct VolumeMount: Sendable, Codable, Equatable {
    public var path: String
    public var name: String

    public init(path: String, name: String) {
        self.path = path
        self.name = name
    }
}

/// The serializable description of a workflow: what `describe` prints.
public struct WorkflowSpec: Sendable, Codable, Equatable {
    public var name: String
    public var params: [Param]
    public var steps: [StepSpec]
    public var preprocessingStep: String?
    public var defaultTargets: [String]
    public var isDefault: Bool
    public var file: String
    public var line: Int

    public init(
        name: String, params: [Param], steps: [StepSpec], preprocessingStep: String?, defaultTargets: [String],
        isDefault: Bool = false, file: String, line: Int
    ) {
        self.isDefault = isDefault
        self.name = name
        self.params = params
        self.steps = steps
        self.preprocessingStep = preprocessingStep
        self.defaultTargets = defaultTargets
        self.file = file
        self.line = line
    }
}

extension Workflow {
    /// The serializable description the engine reads.
    public var spec: WorkflowSpec {
        WorkflowSpec(
            name: name, params: params, steps: steps.map(\.spec), preprocessingStep: preprocessingStep,
            defaultTargets: defaultTargets, isDefault: isDefault, file: file, line: line)
    }
}
