import ArgumentParser
import FlowEngine
import Foundation

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "List recent runs.", subcommands: [Show.self])

    @Option(help: "How many runs to list.") var limit = 20
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let session = try Session()
        let runs = try session.database.runs(limit: limit).map { try session.database.checkLiveness($0) }
        var steps: [String: [StepRecord]] = [:]
        for r in runs { steps[r.tag] = try session.database.steps(of: r.tag) }
        if json {
            Terminal.line(Terminal.json(runs))
        } else if runs.isEmpty {
            Terminal.line("no runs yet: `flow run` starts one")
        } else {
            Terminal.line(RunReport.runsTable(runs, steps: steps))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show a run: its steps, attempts, errors and metrics.")

        @Argument(help: "The run's tag (or a unique prefix).") var tag: String
        @Flag(help: "Print JSON.") var json = false

        struct Detail: Encodable {
            var run: RunRecord
            var steps: [StepRecord]
            var attempts: [AttemptRecord]
            var metrics: [MetricRecord]
        }

        func run() async throws {
            let session = try Session()
            let db = session.database
            let run = try db.checkLiveness(try db.resolveTag(tag))
            let detail = Detail(run: run, steps: try db.steps(of: run.tag), attempts: try db.attempts(of: run.tag),
                                metrics: try db.metrics(of: run.tag))
            if json {
                Terminal.line(Terminal.json(detail))
            } else {
                Terminal.line(RunReport.show(run, steps: detail.steps, attempts: detail.attempts, metrics: detail.metrics))
            }
        }
    }
}

struct GraphCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "graph", abstract: "Show a workflow's steps and edges.")

    @Argument(help: "Show only what this target needs.") var target: String?
    @Option(help: "The workflow (default: the default one).") var workflow: String?
    @Flag(help: "Print Graphviz DOT.") var dot = false

    func run() async throws {
        let session = try Session()
        let loaded = try await session.loader().load(name: workflow)
        let graph = try WorkflowGraph(loaded.spec)
        let targets = target.map { [$0] } ?? []
        if dot {
            print(try graph.dot(targets: targets), terminator: "")
            return
        }
        Terminal.line("workflow \(loaded.spec.name) (\(session.project.display(loaded.spec.file)))")
        for name in targets.isEmpty ? graph.topologicalOrder() : try graph.plan(targets: targets) {
            let s = graph.step(name)!
            var attrs: [String] = [s.isCommand ? "command" : "function"]
            if !s.attributes.gpu.isEmpty { attrs.append("gpu \(s.attributes.gpu.joined(separator: "|"))") }
            if let t = s.attributes.timeoutSeconds { attrs.append("timeout \(RunReport.duration(t))") }
            if s.attributes.retries.count > 0 { attrs.append("retries \(s.attributes.retries.count)") }
            if !s.attributes.secrets.isEmpty { attrs.append("secrets \(s.attributes.secrets.joined(separator: ","))") }
            let deps = graph.dependencies[name, default: []]
            Terminal.line("  \(name)" + (deps.isEmpty ? "" : " ← \(deps.joined(separator: ", "))")
                + Terminal.dim("  [\(attrs.joined(separator: ", "))]"))
        }
    }
}

struct SecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret", abstract: "List and check secret groups (values are never printed).",
        subcommands: [List.self, Check.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "Secret groups and their key names.")
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let project = try Project.find()
            let store = SecretStore(directory: project.secretsDirectory)
            var listing: [String: [String]] = [:]
            var problems: [String: String] = [:]
            for g in store.groups() {
                do { listing[g] = try store.load(g).keys.sorted() } catch let e as FlowError { problems[g] = e.description }
            }
            if json {
                Terminal.line(Terminal.json(listing))
                return
            }
            if listing.isEmpty && problems.isEmpty {
                Terminal.line("no secret groups in \(project.secretsDirectory.path) (see secrets.example)")
            }
            for g in listing.keys.sorted() { Terminal.line("\(g): \(listing[g]!.joined(separator: ", "))") }
            for g in problems.keys.sorted() { Terminal.line("\(g): \(Terminal.red(problems[g]!))") }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check", abstract: "Check that every secret group the workflows declare is present and private.")

        func run() async throws {
            let session = try Session()
            let loader = try session.loader()
            let store = SecretStore(directory: session.project.secretsDirectory)
            var uses: [(step: String, groups: [String])] = []
            for file in loader.workflowFiles() {
                let compiled = try await loader.compiler.compile(file)
                for w in compiled.workflows {
                    for s in w.steps where !s.attributes.secrets.isEmpty {
                        uses.append((step: "\(w.name)/\(s.name)", groups: s.attributes.secrets))
                    }
                }
            }
            _ = try store.resolve(steps: uses)
            let groups = Set(uses.flatMap(\.groups)).sorted()
            Terminal.line(groups.isEmpty ? "no step declares secrets" : "ok: \(groups.joined(separator: ", "))")
        }
    }
}
