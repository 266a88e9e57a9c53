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
        let staging = dir.appendingPathComponent(".worker-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { unlink(staging.path) }
        let build = toolchain.buildDirectory.path
        let args = [
            "-module-name", "UserWorkflow", main.path, "-Onone", "-static-stdlib",
            "-I", "\(build)/Modules", "-L", build, "-lFlowRuntimeStatic",
            "-module-cache-path", cacheDirectory.appendingPathComponent("ModuleCache").path,
            "-o", staging.path,
        ] + settings.flags + toolchain.systemLinkFlags() + (try await autolinkFlags(swiftc: settings.swiftc))
        let result = try await runTool(settings.swiftc, args, in: dir)
        guard result.status.succeeded else {
            throw FlowError.config(
                "cannot link the static worker of \(compiled.source.lastPathComponent):\n"
                    + result.output.filter { $0.contains("error") }.suffix(20).joined(separator: "\n"),
                hint: "check that the system libraries flow links (OpenBLAS, SQLite) are installed (`scripts/setup`)")
        }
        let digest = try Digest.of(Data(contentsOf: staging, options: .alwaysMapped))
        // The binary first, its digest last: a digest file always names a complete binary beside it.
        guard rename(staging.path, binary.path) == 0 else {
            throw FlowError(.internalError, "cannot publish the static worker to \(binary.path): \(String(cString: strerror(errno)))")
        }
        try Data(digest.hex.utf8).write(to: digestFile, options: .atomic)
        return StaticWorker(binary: binary, digest: digest)
    }

    /// The libraries the archive's modules ask to be linked with (module maps' `link`, e.g. `-lsqlite3`), which
    /// the linker reads only from object files, not from archives.
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
