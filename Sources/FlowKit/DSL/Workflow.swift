import Foundation

/// A named graph of steps, declared with a result builder in a `Workflows/*.swift` file.
public struct Workflow: Sendable {
    public let name: String
    public internal(set) var params: [Param]
    public internal(set) var steps: [Step]
    /// The step that ends the preprocessing stage (`flow run --preproc-only`).
    public internal(set) var preprocessingStep: String?
    /// What `flow run` with no target runs; all leaves when empty.
    public internal(set) var defaultTargets: [String]
    /// Whether `flow run` without `--workflow` picks this workflow.
    public internal(set) var isDefault: Bool
    /// Where the declaration is, for error messages.
    public let file: String
    public let line: Int
    let registration: UInt64

    /// Declares a workflow and registers it with the worker runtime.
    public init(
        _ name: String, file: String = #filePath, line: Int = #line,
        @WorkflowBuilder _ content: () -> [WorkflowComponent]
    ) {
        self.name = name
        self.file = file
        self.line = line
        var params: [Param] = []
        var steps: [Step] = []
        for component in content() {
            switch component {
            case .param(let p): params.append(p)
            case .step(let s): steps.append(s)
            }
        }
        self.params = params
        self.steps = steps
        self.preprocessingStep = nil
        self.defaultTargets = []
        self.isDefault = false
        self.registration = WorkflowRegistry.shared.nextID()
        WorkflowRegistry.shared.register(self)
    }

    /// Names the step that ends preprocessing: `--preproc-only` runs it and what it needs, then stops.
    public func preprocessing(_ step: String) -> Workflow {
        var copy = self
        copy.preprocessingStep = step
        WorkflowRegistry.shared.register(copy)
        return copy
    }

    /// Makes this the workflow `flow run` runs when no `--workflow` is given.
    public func isDefault(_ value: Bool = true) -> Workflow {
        var copy = self
        copy.isDefault = value
        WorkflowRegistry.shared.register(copy)
        return copy
    }

    /// The targets `flow run` runs when none is named.
    public func defaultTargets(_ targets: String...) -> Workflow {
        var copy = self
        copy.defaultTargets = targets
        WorkflowRegistry.shared.register(copy)
        return copy
    }
}

/// One thing a workflow builder block produces.
public enum WorkflowComponent: Sendable {
    case param(Param)
    case step(Step)
}

/// Anything that can appear in a workflow builder block.
public protocol WorkflowContent {
    var components: [WorkflowComponent] { get }
}

extension Param: WorkflowContent {
    public var components: [WorkflowComponent] { [.param(self)] }
}

extension Array: WorkflowContent where Element: WorkflowContent {
    public var components: [WorkflowComponent] { flatMap(\.components) }
}

/// The result builder behind `Workflow { ... }`: loops, conditionals and helper calls work inside it.
@resultBuilder
public enum WorkflowBuilder {
    public static func buildExpression(_ content: some WorkflowContent) -> [WorkflowComponent] {
        content.components
    }
    public static func buildExpression(_ components: [WorkflowComponent]) -> [WorkflowComponent] {
        components
    }
    public static func buildBlock(_ parts: [WorkflowComponent]...) -> [WorkflowComponent] {
        parts.flatMap { $0 }
    }
    public static func buildOptional(_ part: [WorkflowComponent]?) -> [WorkflowComponent] { part ?? [] }
    public static func buildEither(first: [WorkflowComponent]) -> [WorkflowComponent] { first }
    public static func buildEither(second: [WorkflowComponent]) -> [WorkflowComponent] { second }
    public static func buildArray(_ parts: [[WorkflowComponent]]) -> [WorkflowComponent] {
        parts.flatMap { $0 }
    }
    public static func buildLimitedAvailability(_ part: [WorkflowComponent]) -> [WorkflowComponent] { part }
}
