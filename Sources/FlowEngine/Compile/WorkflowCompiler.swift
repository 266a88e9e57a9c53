import Crypto
import FlowKit
import Foundation

/// Compiles a workflow file into the binary that describes it and runs its Swift functions, cached by content.
///
/// The file is wrapped in a generated `main.swift` with `#sourceLocation`, so compiler errors and `#line` name the
/// user's file and line; the binary links `libFlowRuntime.so` from the flow build.
public struct WorkflowCompiler: Sendable {
    public let toolchain: SwiftToolchain
    public let cacheDirectory: URL

    public init(toolchain: SwiftToolchain, cacheDirectory: URL) {
        self.toolchain = toolchain
        self.cacheDirectory = cacheDirectory
    }

    /// A compiled workflow file and what it declares.
    public struct Compiled: Sendable {
        public let source: URL
        public let binary: URL
        public let workflows: [WorkflowSpec]
        public let sourceDigest: String
    }

    /// Compiles (or takes from the cache) `file` and reads back the workflows it declares.
    public func compile(_ file: URL) async throws -> Compiled {
        let file = file.standardizedFileURL
        guard let source = try? Data(contentsOf: file) else {
            throw FlowError.config("cannot read workflow file \(file.path)", hint: "check the path")
        }
        var hasher = SHA256()
        hasher.update(data: Data(file.path.utf8))
        hasher.update(data: source)
        hasher.update(data: Data(toolchain.fingerprint.utf8))
        let key = hasher.finalize().hexString
        let dir = cacheDirectory.appendingPathComponent(String(key.prefix(32)), isDirectory: true)
        let binary = dir.appendingPathComponent("workflow")
        let described = dir.appendingPathComponent("describe.json")
        let sourceDigest = SHA256.hash(data: source).hexString

        if let data = try? Data(contentsOf: described),
            let specs = try? JSONDecoder().decode([WorkflowSpec].self, from: data),
            FileManager.default.isExecutableFile(atPath: binary.path)
        {
            return Compiled(source: file, binary: binary, workflows: specs, sourceDigest: sourceDigest)
        }

        let fm = FileManager.default
        try fm.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
        let staging = cacheDirectory.appendingPathComponent(".build-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: staging) }

        let mainURL = try Self.writeMain(of: file, source: source, into: staging)

        let build = toolchain.buildDirectory.path
        let settings = toolchain.compileSettings()
        let args = [
            "-module-name", "UserWorkflow", mainURL.path, "-Onone",
            "-I", "\(build)/Modules", "-L", build, "-lFlowRuntime",
            "-Xlinker", "-rpath", "-Xlinker", build,
            "-module-cache-path", cacheDirectory.appendingPathComponent("ModuleCache").path,
            "-o", staging.appendingPathComponent("workflow").path,
        ] + settings.flags
        let diagnostics = try await runTool(settings.swiftc, args, in: staging)
        guard diagnostics.status.succeeded else {
            let text = diagnostics.output.filter { !$0.contains("main.swift") || $0.contains("error") }
            throw FlowError.config(
                "workflow file \(file.lastPathComponent) does not compile:\n" + text.joined(separator: "\n"),
                hint: "fix the errors above in \(file.path); the next `flow run` recompiles it")
        }
        let describeOut = staging.appendingPathComponent("describe.json")
        let describe = try await runTool(staging.appendingPathComponent("workflow").path, ["describe", describeOut.path],
                                   in: staging)
        guard describe.status.succeeded, let data = try? Data(contentsOf: describeOut) else {
            throw FlowError.config(
                "workflow file \(file.lastPathComponent) failed while declaring its workflows "
                    + "(\(describe.status.description)):\n" + describe.output.suffix(20).joined(separator: "\n"),
                hint: "top-level code in \(file.path) must only declare workflows")
        }
        let specs = try JSONDecoder().decode([WorkflowSpec].self, from: data)
        // Publish atomically: whoever renames first wins; an identical result from a concurrent compile is fine.
        // main.swift stays: a static worker for remote hosts is built from it later, if a run needs one.
        if rename(staging.path, dir.path) != 0 && !fm.fileExists(atPath: described.path) {
            throw FlowError(.internalError, "cannot publish compiled workflow to \(dir.path): \(String(cString: strerror(errno)))")
        }
        return Compiled(source: file, binary: binary, workflows: specs, sourceDigest: sourceDigest)
    }

    /// Writes the `main.swift` that wraps a workflow file: its text under `#sourceLocation`, then the worker's entry.
    static func writeMain(of file: URL, source: Data, into dir: URL) throws -> URL {
        var main = "#sourceLocation(file: \(swiftStringLiteral(file.path)), line: 1)\n"
        main += String(decoding: source, as: UTF8.self)
        main += "\n#sourceLocation()\nFlowKit.WorkflowMain.run()\n"
        let url = dir.appendingPathComponent("main.swift")
        try Data(main.utf8).write(to: url)
        return url
    }

    func runTool(_ tool: String, _ args: [String], in dir: URL) async throws -> (status: ChildProcess.Termination, output: [String]) {
        var options = ChildProcess.Options(
            executable: tool, arguments: args, environment: ProcessInfo.processInfo.environment,
            workingDirectory: dir.path, timeoutSeconds: 600)
        options.graceSeconds = 2
        let process = try ChildProcess(options)
        let lines = LineCollector()
        let result = await process.wait(output: { lines.append($0) })
        return (result.termination, lines.lines)
    }
}

/// Collects lines from several threads.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []
    func append(_ line: String) {
        lock.lock()
        storage.append(line)
        lock.unlock()
    }
    func trim(to limit: Int) {
        lock.lock()
        if storage.count > limit { storage.removeFirst(storage.count - limit) }
        lock.unlock()
    }
    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}

func swiftStringLiteral(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
        switch ch {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        default: out.unicodeScalars.append(ch)
        }
    }
    return out + "\""
}
