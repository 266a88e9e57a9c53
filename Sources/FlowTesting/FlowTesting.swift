import CProcessSupport
import FlowEngine
import Foundation

/// A throwaway flow project in a temporary directory, with helpers to write workflow files and run the real
/// `flow` executable from this build against it.
public final class TemporaryProject: @unchecked Sendable {
    public let root: URL

    public init(_ name: String = "project") throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("flow-test-\(name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("Workflows"), withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    public var project: Project { Project(root: root) }

    /// Writes a file relative to the project root, creating folders.
    @discardableResult
    public func write(_ relativePath: String, _ contents: String, mode: Int? = nil) throws -> URL {
        let url = root.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
        if let mode { chmod(url.path, mode_t(mode)) }
        return url
    }

    /// The `flow` executable built beside the test bundle.
    public static var flowExecutable: URL {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("flow")
    }

    /// What a `flow` invocation printed and how it exited.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var seconds: Double
    }

    /// Runs `flow args...` in the project and waits for it.
    @discardableResult
    public func flow(_ args: String..., environment: [String: String] = [:]) throws -> Output {
        try flow(arguments: args, environment: environment)
    }

    public func flow(arguments: [String], environment: [String: String] = [:]) throws -> Output {
        try run(Self.flowExecutable.path, arguments, environment: environment)
    }

    /// Runs a program in the project (with NO_COLOR set) and waits for it.
    public func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = root
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        // Read both pipes to their end on separate threads so neither fills up.
        let errData = DataBox()
        let errDone = DispatchSemaphore(value: 0)
        let reader = Thread {
            errData.data = err.fileHandleForReading.readDataToEndOfFile()
            errDone.signal()
        }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        errDone.wait()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.data, as: UTF8.self), seconds: Date().timeIntervalSince(start))
    }

    /// The run database of this project.
    public func database() throws -> RunDatabase { try RunDatabase(url: project.databaseURL) }

    /// The newest run's tag.
    public func lastTag() throws -> String {
        guard let run = try database().runs(limit: 1).first else { throw TestingError("no run recorded") }
        return run.tag
    }
}

final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = Data()
    var data: Data {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// A failure in a test helper.
public struct TestingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs a system tool to its end; returns its standard output, or throws with its error output when it fails.
@discardableResult
public func runTool(_ executable: String, _ arguments: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let error = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw TestingError("\((executable as NSString).lastPathComponent) \(arguments.joined(separator: " ")): "
            + String(decoding: error, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return String(decoding: output, as: UTF8.self)
}

/// Every process's full command line (`ps auxww`), to check what other users of the machine can see.
public func processListing() throws -> String {
    try runTool("/bin/ps", ["auxww"])
}

/// Processes whose command line contains `marker` (from /proc), for checking that nothing was left behind.
public func processes(matching marker: String) -> [Int32] {
    let me = getpid()
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
        guard pid != me, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let cmd = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        // Zombies have an empty command line and are not running.
        return cmd.contains(marker)
    }
}

/// Waits (with inotify on its folder, no fixed sleeps) until `file` exists; false after `timeout` seconds.
public func waitForFile(_ file: URL, timeout: Double = 60) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    let dir = file.deletingLastPathComponent().path
    let fd = flow_inotify_watch_dir(dir)
    defer { if fd >= 0 { close(fd) } }
    while !FileManager.default.fileExists(atPath: file.path) {
        let left = deadline.timeIntervalSinceNow
        if left <= 0 { return false }
        var p = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        // A short cap on each wait covers a file created between the check and the watch.
        _ = poll(&p, 1, Int32(min(left, 0.5) * 1000))
        var drain = [UInt8](repeating: 0, count: 4096)
        while fd >= 0 && read(fd, &drain, drain.count) > 0 {}
    }
    return true
}

extension TemporaryProject {
    /// The flow repository this test build comes from (its Workflows/, its data).
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Copies a file or folder of the repository (e.g. `Workflows/Finetune.swift`) into the project at the same path.
    @discardableResult
    public func copyFromRepository(_ relativePath: String) throws -> URL {
        let destination = root.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.copyItem(at: Self.repositoryRoot.appendingPathComponent(relativePath), to: destination)
        return destination
    }
}
