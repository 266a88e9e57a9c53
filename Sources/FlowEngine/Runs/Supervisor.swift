import CProcessSupport
import Foundation

/// Starts and stops the process that supervises a detached run.
public enum Supervisor {
    /// Starts `executable arguments` in a new session (so it survives the terminal closing), with its output in
    /// `logFile` and no standard input; returns its pid.
    public static func spawnDetached(executable: String, arguments: [String], logFile: URL) throws -> Int32 {
        try FileManager.default.createDirectory(at: logFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        let out = open(logFile.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(out); close(devNull) }
        guard out >= 0, devNull >= 0 else {
            throw FlowError(.internalError, "cannot open \(logFile.path): \(String(cString: strerror(errno)))")
        }
        var env = ProcessInfo.processInfo.environment
        env["FLOW_SUPERVISOR"] = "1"
        var pid: pid_t = 0
        let argv = [executable] + arguments
        let envp = env.map { "\($0.key)=\($0.value)" }
        let rc = withCStrings(argv) { a in
            withCStrings(envp) { e in
                flow_spawn(executable, a, e, FileManager.default.currentDirectoryPath, devNull, out, out, -1, 1, &pid)
            }
        }
        guard rc == 0 else {
            throw FlowError(.internalError, "cannot start the run supervisor: \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// The path of the running executable.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Waits up to `timeout` seconds for process `pid` (not necessarily a child) to exit; true if it did.
    public static func waitForExit(pid: Int32, timeout: Double) -> Bool {
        let fd = flow_pidfd_open(pid)
        guard fd >= 0 else { return kill(pid, 0) != 0 }
        defer { close(fd) }
        var p = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        return poll(&p, 1, Int32(timeout * 1000)) > 0
    }
}
