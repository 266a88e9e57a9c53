import Foundation

extension WorkflowCompiler {
    /// A workflow binary linked with the static Swift runtime, so a host runs it without a Swift toolchain.
    public struct StaticWorker: Sendable {
        public let binary: URL
        /// The binary's content digest: its name on hosts (`<root>/workers/<digest>/worker`).
        public let digest: Digest
    }

    /// Links (or takes from the cache) the static worker of a compiled workflow file.
    ///
    /// It is built next to the dynamic binary from the same `main.swift`, so it changes exactly when the workflow
    /// file or flow does. The Swift runtime and Foundation are linked in; system libraries (OpenBLAS, SQLite, the
    /// C++ runtime) stay dynamic, and `flow hosts check` lists those a host lacks.
    public func staticWorker(for compiled: Compiled) async throws -> StaticWorker {
        let dir = compiled.binary.deletingLastPathComponent()
        let binary = dir.appendingPathComponent("worker-static")
        let digestFile = dir.appendingPathComponent("worker-static.sha256")
        if let text = try? String(contentsOf: digestFile, encoding: .utf8), let digest = Digest(hex: text),
            FileManager.default.isExecutableFile(atPath: binary.path)
        {
            return StaticWorker(binary: binary, digest: digest)
        }
        let main = dir.appendingPathComponent("main.swift")
        guard FileManager.default.fileExists(atPath: main.path) else {
            throw FlowError(.internalError, "the compiled workflow in \(dir.path) has no main.swift to build a worker from",
                            hint: "delete \(dir.path); the next `flow run` compiles the workflow again")
        }
        guard FileManager.default.fileExists(atPath: toolchain.staticRuntime.path) else {
            throw FlowError.config(
                "cannot build the worker for remote hosts: \(toolchain.staticRuntime.path) is missing",
                hint: "build flow with `swift build` (it builds the FlowRuntimeStatic library too)")
        }
        let settings = toolchain.compileSettings()
        let fm = FileManager.default
        let staging = dir.appendingPathComponent(".worker-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: staging) }
        // The extra file imports Foundation so the objects name every static Foundation library, whether or not
        // the workflow file imports it. Objects are compiled into the staging folder first (not the driver's
        // randomly named temporary one) so the same inputs link to the same bytes, hence the same digest.
        let imports = staging.appendingPathComponent("imports.swift")
        try Data("import Foundation\n".utf8).write(to: imports)
        let compile = try await runTool(settings.swiftc, [
            "-c", "-module-name", "UserWorkflow", main.path, imports.path, "-Onone", "-static-stdlib",
            "-I", "\(toolchain.buildDirectory.path)/Modules",
            "-module-cache-path", cacheDirectory.appendingPathComponent("ModuleCache").path,
        ] + settings.flags, in: staging)
        // The archive goes among the inputs, so the driver links it in one group with the objects and the static
        // Foundation libraries they name (which need each other in both directions).
        let output = staging.appendingPathComponent("worker")
        let link = compile.status.succeeded ? try await runTool(settings.swiftc, [
            staging.appendingPathComponent("main.o").path, staging.appendingPathComponent("imports.o").path,
            toolchain.staticRuntime.path, "-static-stdlib", "-o", output.path,
        ] + toolchain.systemLinkFlags() + (try await autolinkFlags(swiftc: settings.swiftc)), in: staging) : compile
        guard link.status.succeeded else {
            throw FlowError.config(
                "cannot link the static worker of \(compiled.source.lastPathComponent):\n"
                    + link.output.filter { $0.contains("error") }.suffix(20).joined(separator: "\n"),
                hint: "check that the system libraries flow links (OpenBLAS, SQLite) are installed (`scripts/setup`)")
        }
        let digest = try Digest.of(Data(contentsOf: output, options: .alwaysMapped))
        // The binary first, its digest last: a digest file always names a complete binary beside it.
        guard rename(output.path, binary.path) == 0 else {
            throw FlowError(.internalError, "cannot publish the static worker to \(binary.path): \(String(cString: strerror(errno)))")
        }
        try Data(digest.hex.utf8).write(to: digestFile, options: .atomic)
        return StaticWorker(binary: binary, digest: digest)
    }

    /// The libraries the archive's modules ask to be linked with (module maps' `link`, e.g. `-lsqlite3`), which
    /// the driver reads only from the objects it compiled, not from archives.
    private func autolinkFlags(swiftc: String) async throws -> [String] {
        let tool = URL(fileURLWithPath: swiftc).deletingLastPathComponent().appendingPathComponent("swift-autolink-extract").path
        let result = try await runTool(tool, [toolchain.staticRuntime.path, "-o", "-"], in: cacheDirectory)
        guard result.status.succeeded else {
            throw FlowError(.internalError, "swift-autolink-extract failed on \(toolchain.staticRuntime.path): "
                            + result.output.suffix(5).joined(separator: " | "))
        }
        var seen = Set<String>()
        return result.output.filter { $0.hasPrefix("-l") && seen.insert($0).inserted }
    }
}
