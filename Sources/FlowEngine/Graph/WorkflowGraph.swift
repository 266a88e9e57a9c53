import FlowKit

/// A workflow's steps and edges, validated: unique names, known dependencies and parameters, no cycles.
public struct WorkflowGraph: Sendable {
    public let spec: WorkflowSpec
    /// Steps in declaration order.
    public let steps: [StepSpec]
    /// Step name to the names it depends on (declared `needs` plus command placeholders).
    public let dependencies: [String: [String]]
    public let templates: [String: CommandTemplate]
    private let index: [String: Int]
    /// Step name to the steps that depend on it, in declaration order.
    private let dependentsByStep: [String: [String]]

    /// Validates `spec`; every problem found is reported at once with exit code 2.
    public init(_ spec: WorkflowSpec) throws {
        self.spec = spec
        var problems: [String] = []
        var index: [String: Int] = [:]
        for (i, step) in spec.steps.enumerated() {
            if let first = index[step.name] {
                problems.append(
                    "step '\(step.name)' is declared twice (\(Self.place(spec.steps[first])) and \(Self.place(step)))")
            } else {
                index[step.name] = i
            }
        }
        let names = spec.steps.map(\.name)
        let paramNames = spec.params.map(\.name)
        var dependencies: [String: [String]] = [:]
        var templates: [String: CommandTemplate] = [:]
        for step in spec.steps where dependencies[step.name] == nil {
            var deps: [String] = []
            for need in step.attributes.needs {
                if index[need] == nil {
                    problems.append(
                        "step '\(step.name)' (\(Self.place(step))) needs unknown step '\(need)'"
                            + Suggestion.didYouMean(need, in: names))
                } else if !deps.contains(need) {
                    deps.append(need)
                }
            }
            if let command = step.command {
                let template = CommandTemplate(command, step: step.name)
                templates[step.name] = template
                for part in template.parts {
                    switch part {
                    case .input(let s, _):
                        if index[s] == nil {
                            problems.append(
                                "command of step '\(step.name)' (\(Self.place(step))) reads {\(s)/...} but there is no step '\(s)'"
                                    + Suggestion.didYouMean(s, in: names))
                        } else if !deps.contains(s) {
                            deps.append(s)
                        }
                    case .volume(let path) where !step.attributes.volumes.contains(where: { $0.path == path }):
                        problems.append(
                            "command of step '\(step.name)' (\(Self.place(step))) uses {\(path)} but mounts no volume there; add .volume(\"\(path)\", \"NAME\")")
                    case .param(let p) where !paramNames.contains(p):
                        problems.append(
                            "command of step '\(step.name)' (\(Self.place(step))) uses {\(p)} but the workflow declares no Param(\"\(p)\")"
                                + Suggestion.didYouMean(p, in: paramNames))
                    default: break
                    }
                }
            }
            dependencies[step.name] = deps
        }
        if let pre = spec.preprocessingStep, index[pre] == nil {
            problems.append("workflow '\(spec.name)' names preprocessing step '\(pre)', which it does not declare"
                + Suggestion.didYouMean(pre, in: names))
        }
        for target in spec.defaultTargets where index[target] == nil {
            problems.append("workflow '\(spec.name)' has default target '\(target)', which it does not declare"
                + Suggestion.didYouMean(target, in: names))
        }
        self.steps = spec.steps
        self.dependencies = dependencies
        self.templates = templates
        self.index = index
        var dependents: [String: [String]] = [:]
        for step in spec.steps {
            for d in Set(dependencies[step.name, default: []]) { dependents[d, default: []].append(step.name) }
        }
        self.dependentsByStep = dependents
        if problems.isEmpty, let cycle = findCycle() {
            problems.append("the steps form a cycle: \(cycle.joined(separator: " → "))")
        }
        if !problems.isEmpty {
            throw FlowError.config(
                "workflow '\(spec.name)' (\(spec.file):\(spec.line)) is not valid:\n  - "
                    + problems.joined(separator: "\n  - "),
                hint: problems.count == 1 && problems[0].contains("cycle")
                    ? "remove one of these dependencies" : nil)
        }
    }

    static func place(_ step: StepSpec) -> String {
        "\(step.file.split(separator: "/").suffix(2).joined(separator: "/")):\(step.line)"
    }

    public func step(_ name: String) -> StepSpec? { index[name].map { steps[$0] } }

    /// Steps that depend directly on `name`.
    public func dependents(of name: String) -> [String] {
        dependentsByStep[name, default: []]
    }

    /// The targets and everything they need, in a dependency order (declaration order among peers).
    public func plan(targets: [String]) throws -> [String] {
        for t in targets where index[t] == nil {
            throw FlowError.config(
                "workflow '\(spec.name)' has no step '\(t)'" + Suggestion.didYouMean(t, in: steps.map(\.name)),
                hint: "`flow graph` lists the steps")
        }
        var needed = Set<String>()
        var stack = targets.isEmpty ? defaultTargets : targets
        while let s = stack.popLast() {
            if needed.insert(s).inserted { stack += dependencies[s, default: []] }
        }
        return topologicalOrder().filter { needed.contains($0) }
    }

    /// What `flow run` runs when no target is named: the declared defaults, else every step.
    public var defaultTargets: [String] {
        spec.defaultTargets.isEmpty ? steps.map(\.name) : spec.defaultTargets
    }

    /// Every step, dependencies first; ties keep declaration order.
    public func topologicalOrder() -> [String] {
        var remaining = steps.map { ($0.name, Set(dependencies[$0.name, default: []])) }
        var done = Set<String>()
        var order: [String] = []
        while !remaining.isEmpty {
            guard let i = remaining.firstIndex(where: { $0.1.isSubset(of: done) }) else { break }
            let name = remaining.remove(at: i).0
            done.insert(name)
            order.append(name)
        }
        return order
    }

    private func findCycle() -> [String]? {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var path: [String] = []
        func visit(_ s: String) -> [String]? {
            if marks[s] == .done { return nil }
            if marks[s] == .visiting {
                let start = path.firstIndex(of: s) ?? 0
                return Array(path[start...]) + [s]
            }
            marks[s] = .visiting
            path.append(s)
            for d in dependencies[s, default: []] {
                if let c = visit(d) { return c }
            }
            path.removeLast()
            marks[s] = .done
            return nil
        }
        for s in steps.map(\.name) {
            if let c = visit(s) { return c.reversed() }
        }
        return nil
    }

    /// Graphviz DOT of the targets' plan (or the whole graph).
    public func dot(targets: [String] = []) throws -> String {
        let names = targets.isEmpty ? topologicalOrder() : try plan(targets: targets)
        var out = "digraph \"\(spec.name)\" {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n"
        for n in names {
            let s = step(n)!
            var label = n
            if !s.attributes.gpu.isEmpty { label += "\\ngpu: \(s.attributes.gpu.joined(separator: " | "))" }
            out += "  \"\(n)\" [label=\"\(label)\"\(s.isCommand ? ", shape=box" : "")];\n"
        }
        for n in names {
            for d in dependencies[n, default: []] where names.contains(d) { out += "  \"\(d)\" -> \"\(n)\";\n" }
        }
        return out + "}\n"
    }
}
