import FlowKit
import Foundation

/// Everything decided before a run starts: the workflow, its validated graph, the steps to run, parameters and
/// secrets. Building one fails with exit code 2 on any problem, before any step runs.
public struct RunPlan: Sendable {
    public let loaded: WorkflowLoader.Loaded
    public let graph: WorkflowGraph
    /// The steps to run, dependencies first.
    public let steps: [String]
    /// Every parameter's value, defaults filled in.
    public let params: [String: String]
    /// Secret group to its variables, for the groups the planned steps declare.
    public let secrets: [String: [String: String]]
    public let targets: [String]
    /// Steps to run even when the cache has their outputs.
    public let force: Set<String>
    public let useCache: Bool
    /// The workflow file's text per step, for cache keys.
    public let source: WorkflowSource
    /// The hosts each step may run on, with their GPUs.
    public let placement: Placement
    /// The workflow linked for remote hosts, when a Swift function step may run on one.
    public let worker: WorkflowCompiler.StaticWorker?

    public var workflow: WorkflowSpec { loaded.spec }

    /// What the user asked for.
    public struct Request: Sendable {
        public var workflowFile: URL?
        public var workflowName: String?
        public var targets: [String] = []
        /// Parameter values given on the command line, by parameter name or option spelling.
        public var params: [String: String] = [:]
        public var preprocOnly = false
        /// `--force STEP`: re-run these even if cached.
        public var force: [String] = []
        /// `--no-cache`: re-run everything.
        public var noCache = false
        /// `--host NAME`: run every step on this host from hosts.toml (without it, GPU steps go to hosts with
        /// their GPUs and the others run here).
        public var host: String?

        public init() {}
    }

    /// Validates the request against the workflow.
    public static func make(_ request: Request, loader: WorkflowLoader, secrets store: SecretStore) async throws
        -> RunPlan
    {
        let loaded = try await loader.load(file: request.workflowFile, name: request.workflowName)
        let spec = loaded.spec
        let graph = try WorkflowGraph(spec)
        var targets = request.targets
        if request.preprocOnly {
            guard let pre = spec.preprocessingStep else {
                throw FlowError.config(
                    "workflow '\(spec.name)' names no preprocessing step, so --preproc-only has nothing to stop at",
                    hint: "add .preprocessing(\"STEP\") to the workflow")
            }
            targets = [pre]
        }
        let steps = try graph.plan(targets: targets)

        var params: [String: String] = [:]
        var unknown: [String] = []
        let byOption = Dictionary(uniqueKeysWithValues: spec.params.map { ($0.optionName, $0.name) })
        for (key, value) in request.params {
            if let p = spec.params.first(where: { $0.name == key }) {
                params[p.name] = value
            } else if let name = byOption[key] {
                params[name] = value
            } else {
                unknown.append(key)
            }
        }
        if let key = unknown.first {
            let options = spec.params.map(\.optionName)
            throw FlowError(
                .usage,
                "workflow '\(spec.name)' has no parameter --\(key)" + Suggestion.didYouMean(key, in: options),
                hint: options.isEmpty ? "it takes no parameters" : "its parameters: " + options.map { "--\($0)" }.joined(separator: ", "))
        }
        for p in spec.params where params[p.name] == nil {
            guard let d = p.defaultValue else {
                throw FlowError(.usage, "workflow '\(spec.name)' needs --\(p.optionName)",
                                hint: p.help.isEmpty ? nil : p.help)
            }
            params[p.name] = d
        }
        let project = loader.project
        let placement = try await Placement.make(
            steps: steps, graph: graph, pinned: request.host, local: .local(root: project.storeDirectory.path),
            hosts: { try HostsFile.load(project) },
            probe: HostProbe(controlDirectory: project.storeDirectory.appendingPathComponent("ssh")))
        for name in steps where placement.hosts(for: name).allSatisfy(\.isLocal) {
            if let mem = graph.step(name)?.attributes.memoryMiB, mem > RunEngine.physicalMemoryMiB {
                throw FlowError.config(
                    "step '\(name)' asks for \(mem) MiB of memory; this machine has \(RunEngine.physicalMemoryMiB) MiB",
                    hint: "lower .memory(...) or run the step on a bigger host")
            }
        }
        // Swift functions run on a host through the workflow's static worker, linked before any step runs.
        var worker: WorkflowCompiler.StaticWorker?
        if steps.contains(where: { graph.step($0)?.isCommand == false && !placement.hosts(for: $0).allSatisfy(\.isLocal) }) {
            worker = try await loader.compiler.staticWorker(for: loaded.compiled)
        }
        let declared = steps.compactMap { name in graph.step(name).map { (name, $0.attributes.secrets) } }
        let secrets = try store.resolve(steps: declared.filter { !$0.1.isEmpty }.map { (step: $0.0, groups: $0.1) })
        for f in request.force where graph.step(f) == nil {
            throw FlowError(.usage, "--force names no step of workflow '\(spec.name)': '\(f)'"
                + Suggestion.didYouMean(f, in: graph.steps.map(\.name)))
        }
        return RunPlan(loaded: loaded, graph: graph, steps: steps, params: params, secrets: secrets,
                       targets: targets.isEmpty ? graph.defaultTargets : targets, force: Set(request.force),
                       useCache: !request.noCache, source: WorkflowSource(spec: spec), placement: placement,
                       worker: worker)
    }
}
