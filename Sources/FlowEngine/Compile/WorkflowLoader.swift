import FlowKit
import Foundation

/// Finds and compiles the workflow a command names: a file path, `--workflow NAME`, or the project's default.
public struct WorkflowLoader: Sendable {
    public let project: Project
    public let compiler: WorkflowCompiler

    public init(project: Project, compiler: WorkflowCompiler) {
        self.project = project
        self.compiler = compiler
    }

    /// A chosen workflow with the binary that runs it.
    public struct Loaded: Sendable {
        public let compiled: WorkflowCompiler.Compiled
        public let spec: WorkflowSpec
    }

    /// The workflow files in `Workflows/`, sorted.
    public func workflowFiles() -> [URL] {
        let dir = project.workflowsDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".swift") }.sorted().map { dir.appendingPathComponent($0) }
    }

    /// Loads a workflow by file (`file`), by name (`name`), or the default one.
    public func load(file: URL? = nil, name: String? = nil) async throws -> Loaded {
        if let file {
            let compiled = try await compiler.compile(file)
            return try pick(from: [compiled], name: name, context: file.lastPathComponent)
        }
        let files = workflowFiles()
        guard !files.isEmpty else {
            throw FlowError.config("no workflow files in \(project.workflowsDirectory.path)",
                                   hint: "write one, e.g. Workflows/Hello.swift (see the README)")
        }
        // Cheap text scan first, so only the file that matters is compiled.
        let scan = files.filter { url in
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { return false }
            if let name { return text.contains("Workflow(\"\(name)\"") }
            return text.contains(".isDefault(")
        }
        if scan.count == 1, let compiled = try? await compiler.compile(scan[0]),
            let loaded = try? pick(from: [compiled], name: name, context: scan[0].lastPathComponent)
        {
            return loaded
        }
        var compiled: [WorkflowCompiler.Compiled] = []
        var failures: [FlowError] = []
        for f in files {
            do { compiled.append(try await compiler.compile(f)) } catch let e as FlowError { failures.append(e) }
        }
        if compiled.isEmpty || (name != nil && !compiled.contains { $0.workflows.contains { $0.name == name } }
            && !failures.isEmpty)
        {
            throw failures.first ?? FlowError.config("no workflow compiled")
        }
        return try pick(from: compiled, name: name, context: "Workflows/")
    }

    private func pick(from compiled: [WorkflowCompiler.Compiled], name: String?, context: String) throws -> Loaded {
        let all = compiled.flatMap { c in c.workflows.map { (c, $0) } }
        let names = all.map(\.1.name)
        if let dup = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            let places = all.filter { $0.1.name == dup }.map { "\($0.1.file):\($0.1.line)" }
            throw FlowError.config("workflow '\(dup)' is declared more than once (\(places.joined(separator: ", ")))",
                                   hint: "give each workflow its own name")
        }
        if let name {
            guard let hit = all.first(where: { $0.1.name == name }) else {
                throw FlowError.config("no workflow '\(name)' in \(context)" + Suggestion.didYouMean(name, in: names),
                                       hint: names.isEmpty ? nil : "workflows: \(names.joined(separator: ", "))")
            }
            return Loaded(compiled: hit.0, spec: hit.1)
        }
        let defaults = all.filter { $0.1.isDefault }
        if defaults.count == 1 { return Loaded(compiled: defaults[0].0, spec: defaults[0].1) }
        if all.count == 1 { return Loaded(compiled: all[0].0, spec: all[0].1) }
        if all.isEmpty {
            throw FlowError.config("\(context) declares no workflow", hint: "declare one: let w = Workflow(\"name\") { ... }")
        }
        throw FlowError.config(
            "\(defaults.isEmpty ? "no" : "more than one") default workflow among \(names.joined(separator: ", "))",
            hint: "pass --workflow NAME, or mark exactly one with .isDefault()")
    }
}
