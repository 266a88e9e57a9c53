import CProcessSupport
import Foundation

/// A process the engine started in its own process group, watched from one thread with `poll`:
/// its merged stdout/stderr and its event descriptor arrive as lines, and a deadline or a stop request
/// sends SIGTERM to the whole group, then SIGKILL after the grace period. No process of the group outlives it.
public final class ChildProcess: @unchecked Sendable {
    /// How a process ended.
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)

        public var succeeded: Bool { self == .exited(0) }

        public var description: String {
            switch self {
            case .exited(let code): return "exit status \(code)"
            case .signaled(let sig): return "killed by signal \(sig) (\(ChildProcess.signalName(sig)))"
            }
        }
    }

    /// Why the engine ended a process early.
    public enum StopReason: Sendable, Equatable { case timeout, stopped }

    public struct Result: Sendable {
        public var termination: Termination
        public var stopReason: StopReason?
        public var pid: Int32
    }

    public struct Options: Sendable {
        public var executable: String
        public var arguments: [String]
        public var environment: [String: String]
        public var workingDirectory: String?
        public var timeoutSeconds: Double?
        public var graceSeconds: Double = 5
        public var wantsEventDescriptor = false
        /// Bytes written to the process's standard input (then closed); /dev/null when nil.
        public var standardInput: Data?
        /// Writes the process's standard input instead, on a thread of its own, into a pipe that is closed when it
        /// returns: for streams made as they are sent (an archive of the store's objects), never staged on disk.
        public var standardInputWriter: (@Sendable (Int32) -> Void)?
        /// A file standard output goes to (binary-safe); standard error still arrives as lines.
        public var standardOutputFile: String?
        /// A file the process reads as its standard input (no pipe, no copy through this process), when neither
        /// `standardInput` nor `standardInputWriter` is set.
        public var standardInputFile: String?

        public init(executable: String, arguments: [String], environment: [String: String],
                    workingDirectory: String? = nil, timeoutSeconds: Double? = nil) {
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.workingDirectory = workingDirectory
            self.timeoutSeconds = timeoutSeconds
        }
    }

    public let pid: Int32
    private let pidfd: Int32
    private let outputFD: Int32
    private let eventFD: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let options: Options

    /// Starts the process; `output` receives each line of stdout+stderr, `event` each line written to fd 3.
    public init(_ options: Options) throws {
        self.options = options
        var outPipe: [Int32] = [-1, -1]
        var evPipe: [Int32] = [-1, -1]
        var wake: [Int32] = [-1, -1]
        guard flow_pipe(&outPipe, 0) == 0, flow_pipe(&wake, 1) == 0 else {
            throw ChildProcessError("cannot create pipes: \(String(cString: strerror(errno)))")
        }
        if options.wantsEventDescriptor {
            guard flow_pipe(&evPipe, 0) == 0 else {
                throw ChildProcessError("cannot create pipes: \(String(cString: strerror(errno)))")
            }
        }
        let inputWriter = options.standardInputWriter ?? options.standardInput.map(Self.writer(for:))
        var inPipe: [Int32] = [-1, -1]
        if inputWriter != nil {
            guard flow_pipe(&inPipe, 0) == 0 else {
                throw ChildProcessError("cannot create pipes: \(String(cString: strerror(errno)))")
            }
        }
        /// Closes every descriptor made so far, for a failure before the process starts.
        func closeAll(_ extra: Int32...) {
            for fd in outPipe + wake + evPipe + inPipe + extra where fd >= 0 { close(fd) }
        }
        let inputPath = options.standardInputFile ?? "/dev/null"
        let devNull = inputWriter != nil ? inPipe[0] : open(inputPath, O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else {
            let why = String(cString: strerror(errno))
            closeAll()
            throw ChildProcessError("cannot open \(inputPath): \(why)")
        }
        let stdoutFile = options.standardOutputFile.map { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        if let fd = stdoutFile, fd < 0 {
            let why = String(cString: strerror(errno))
            closeAll(inputWriter != nil ? -1 : devNull)
            throw ChildProcessError("cannot create \(options.standardOutputFile!): \(why)")
        }
        defer { if let fd = stdoutFile { close(fd) } }
        defer {
            close(devNull)
            close(outPipe[1])
            if evPipe[1] >= 0 { close(evPipe[1]) }
        }
        let argv = [options.executable] + options.arguments
        let env = options.environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = withCStrings(argv) { cargv in
            withCStrings(env) { cenv in
                flow_spawn(options.executable, cargv, cenv, options.workingDirectory, devNull, stdoutFile ?? outPipe[1],
                           outPipe[1], evPipe[1], 0, &pid)
            }
        }
        guard rc == 0 else {
            if inPipe[1] >= 0 { close(inPipe[1]) }
            close(outPipe[0]); close(wake[0]); close(wake[1])
            if evPipe[0] >= 0 { close(evPipe[0]) }
            throw ChildProcessError("cannot start \(options.executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        self.pidfd = flow_pidfd_open(pid)
        if let inputWriter {
            // Fed from its own thread so a child that reads slowly (or not at all) cannot block the engine.
            let writeEnd = inPipe[1]
            let feeder = Thread {
                signal(SIGPIPE, SIG_IGN)
                inputWriter(writeEnd)
                close(writeEnd)
            }
            feeder.start()
        }
        self.outputFD = outPipe[0]
        self.eventFD = evPipe[0]
        self.wakeRead = wake[0]
        self.wakeWrite = wake[1]
    }

    /// Writes `data` whole to a descriptor, stopping early if the reader went away.
    static func writer(for data: Data) -> @Sendable (Int32) -> Void {
        { fd in data.withUnsafeBytes { raw in _ = try? writeAll(fd, raw, path: "standard input") } }
    }

    deinit {
        close(outputFD)
        if eventFD >= 0 { close(eventFD) }
        if pidfd >= 0 { close(pidfd) }
        close(wakeRead)
        close(wakeWrite)
    }

    /// Asks the process group to stop: SIGTERM now, SIGKILL after the grace period. Safe from any thread.
    public func stop() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// Watches the process to its end on a dedicated thread, delivering lines as they come.
    public func wait(output: @escaping @Sendable (String) -> Void,
                     event: @escaping @Sendable (String) -> Void = { _ in }) async -> Result {
        await watchOnThread(raw: nil, output: output, event: event)
    }

    /// Watches the process to its end on the calling thread (for callers outside Swift concurrency).
    public func waitBlocking(output: (String) -> Void) -> Result {
        watch(raw: nil, output: output, event: { _ in })
    }

    /// Watches the process to its end, delivering its output as raw byte chunks (for binary-safe streams).
    public func wait(chunks: @escaping @Sendable ([UInt8]) -> Void) async -> Result {
        await watchOnThread(raw: chunks, output: { _ in }, event: { _ in })
    }

    private func watchOnThread(raw: (@Sendable ([UInt8]) -> Void)?, output: @escaping @Sendable (String) -> Void,
                               event: @escaping @Sendable (String) -> Void) async -> Result {
        await withCheckedContinuation { continuation in
            let thread = Thread { [self] in
                continuation.resume(returning: watch(raw: raw, output: output, event: event))
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func watch(raw: (([UInt8]) -> Void)?, output: (String) -> Void, event: (String) -> Void) -> Result {
        let start = monotonicNow()
        var termDeadline = options.timeoutSeconds.map { start + $0 }
        var killDeadline: Double?
        var stopReason: StopReason?
        var termination: Termination?
        var drainDeadline: Double?
        var outLines = LineSplitter()
        var evLines = LineSplitter()
        var outOpen = true
        var evOpen = eventFD >= 0
        var buffer = [UInt8](repeating: 0, count: 65536)

        func signalGroup(_ sig: Int32) { kill(-pid, sig) }
        func beginStop(_ reason: StopReason) {
            guard stopReason == nil, termination == nil else { return }
            stopReason = reason
            signalGroup(SIGTERM)
            killDeadline = monotonicNow() + options.graceSeconds
        }

        while termination == nil || outOpen || evOpen {
            let now = monotonicNow()
            if let d = termDeadline, now >= d { termDeadline = nil; beginStop(.timeout) }
            if let d = killDeadline, now >= d { killDeadline = nil; signalGroup(SIGKILL) }
            if let d = drainDeadline, now >= d { break }  // a process that left the group holds the pipe open
            let nextDeadline = [termDeadline, killDeadline, drainDeadline].compactMap { $0 }.min()
            let timeoutMs = nextDeadline.map { Int32(max(0, min(60_000, ($0 - now) * 1000)).rounded(.up)) } ?? -1

            var fds: [pollfd] = []
            if outOpen { fds.append(pollfd(fd: outputFD, events: Int16(POLLIN), revents: 0)) }
            if evOpen { fds.append(pollfd(fd: eventFD, events: Int16(POLLIN), revents: 0)) }
            if termination == nil && pidfd >= 0 { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            fds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            let n = poll(&fds, nfds_t(fds.count), pidfd >= 0 || termination != nil ? timeoutMs : min(timeoutMs < 0 ? 50 : timeoutMs, 50))
            if n < 0 && errno != EINTR { break }

            for p in fds where p.revents != 0 {
                if p.fd == outputFD || p.fd == eventFD {
                    let count = read(p.fd, &buffer, buffer.count)
                    if count > 0 {
                        if p.fd == outputFD, let raw { raw(Array(buffer[0..<count])) }
                        else if p.fd == outputFD { outLines.append(buffer[0..<count], emit: output) }
                        else { evLines.append(buffer[0..<count], emit: event) }
                    } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                        if p.fd == outputFD { outOpen = false; outLines.finish(emit: output) }
                        else { evOpen = false; evLines.finish(emit: event) }
                    }
                } else if p.fd == wakeRead {
                    var sink = [UInt8](repeating: 0, count: 16)
                    while read(wakeRead, &sink, sink.count) > 0 {}
                    beginStop(.stopped)
                }
            }
            if termination == nil, let status = reap(blocking: false) {
                termination = status
                // Whatever the step left running in its group goes with it.
                signalGroup(SIGKILL)
                drainDeadline = monotonicNow() + 2
            }
        }
        if termination == nil { termination = reap(blocking: true) }
        return Result(termination: termination ?? .exited(-1), stopReason: stopReason, pid: pid)
    }

    private func reap(blocking: Bool) -> Termination? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, blocking ? 0 : WNOHANG)
        guard r == pid else { return nil }
        let low = status & 0x7f
        if low == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(low)
    }

    static func signalName(_ sig: Int32) -> String {
        switch sig {
        case SIGSEGV: return "SIGSEGV"
        case SIGKILL: return "SIGKILL"
        case SIGTERM: return "SIGTERM"
        case SIGABRT: return "SIGABRT"
        case SIGILL: return "SIGILL"
        case SIGTRAP: return "SIGTRAP"
        case SIGBUS: return "SIGBUS"
        case SIGINT: return "SIGINT"
        case SIGFPE: return "SIGFPE"
        default: return "signal \(sig)"
        }
    }
}

/// A process could not be started or watched.
public struct ChildProcessError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Splits a byte stream into UTF-8 lines; a very long line is cut at 64 KiB.
struct LineSplitter {
    private var pending: [UInt8] = []

    mutating func append(_ bytes: ArraySlice<UInt8>, emit: (String) -> Void) {
        var start = bytes.startIndex
        for i in bytes.indices where bytes[i] == 0x0A {
            pending.append(contentsOf: bytes[start..<i])
            emit(String(decoding: pending, as: UTF8.self))
            pending.removeAll(keepingCapacity: true)
            start = i + 1
        }
        pending.append(contentsOf: bytes[start...])
        if pending.count > 65536 {
            emit(String(decoding: pending, as: UTF8.self))
            pending.removeAll(keepingCapacity: true)
        }
    }

    mutating func finish(emit: (String) -> Void) {
        if !pending.isEmpty { emit(String(decoding: pending, as: UTF8.self)) }
        pending.removeAll()
    }
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
