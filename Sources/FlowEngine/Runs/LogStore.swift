import CProcessSupport
import Foundation

/// Step logs on disk: `logs/<tag>/steps/<step>.log` and the engine's own `logs/<tag>/run.log`.
///
/// Each line is `<unix time>\t<attempt>\t<text>`, appended with one `write` so concurrent readers never see half a
/// line's prefix.
public struct LogStore: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public func runDirectory(_ tag: String) -> URL { directory.appendingPathComponent(tag, isDirectory: true) }
    public func stepsDirectory(_ tag: String) -> URL { runDirectory(tag).appendingPathComponent("steps", isDirectory: true) }

    public func file(tag: String, step: String?) -> URL {
        guard let step else { return runDirectory(tag).appendingPathComponent("run.log") }
        return stepsDirectory(tag).appendingPathComponent("\(step).log")
    }

    /// Opens the log of a step (or of the run when `step` is nil) for appending.
    public func writer(tag: String, step: String?) throws -> LogWriter {
        try FileManager.default.createDirectory(at: stepsDirectory(tag), withIntermediateDirectories: true)
        return try LogWriter(url: file(tag: tag, step: step))
    }

    /// One parsed log line.
    public struct Line: Sendable, Equatable {
        public var time: Double
        public var attempt: Int
        public var step: String?
        public var text: String
    }

    static func parse(_ raw: Substring, step: String?) -> Line? {
        let parts = raw.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let t = Double(parts[0]), let a = Int(parts[1]) else { return nil }
        return Line(time: t, attempt: a, step: step, text: String(parts[2]))
    }

    /// The names of steps with a log in this run.
    public func loggedSteps(_ tag: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: stepsDirectory(tag).path)) ?? []
        return names.filter { $0.hasSuffix(".log") }.map { String($0.dropLast(4)) }.sorted()
    }
}

/// Appends timestamped lines to one log file.
public final class LogWriter: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()

    init(url: URL) throws {
        fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FlowError(.internalError, "cannot open log \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    /// Appends one line (already redacted) for the given attempt.
    public func append(_ text: String, attempt: Int, time: Double = Date().timeIntervalSince1970) {
        let clean = text.replacingOccurrences(of: "\n", with: " ")
        let line = String(format: "%.6f", time) + "\t\(attempt)\t\(clean)\n"
        lock.lock()
        defer { lock.unlock() }
        Array(line.utf8).withUnsafeBytes { raw in _ = try? writeAll(fd, raw, path: "a log") }
    }
}

/// Reads a run's logs, all at once or following them as they grow.
public final class LogReader: @unchecked Sendable {
    public let store: LogStore
    public let tag: String
    private var offsets: [String: UInt64] = [:]
    private var partial: [String: String] = [:]

    public init(store: LogStore, tag: String) {
        self.store = store
        self.tag = tag
    }

    private func sources(step: String?) -> [(key: String, step: String?, url: URL)] {
        var list: [(String, String?, URL)] = []
        if step == nil { list.append(("run", nil, store.file(tag: tag, step: nil))) }
        for s in store.loggedSteps(tag) where step == nil || s == step {
            list.append(("step:" + s, s, store.file(tag: tag, step: s)))
        }
        return list
    }

    /// Lines appended since the last call (all lines on the first), ordered by time.
    public func readNew(step: String? = nil) -> [LogStore.Line] {
        var lines: [LogStore.Line] = []
        for (key, stepName, url) in sources(step: step) {
            guard let handle = try? FileHandle(forReadingFrom: url) else { continue }
            defer { try? handle.close() }
            let offset = offsets[key] ?? 0
            try? handle.seek(toOffset: offset)
            guard let data = try? handle.readToEnd(), !data.isEmpty else { continue }
            offsets[key] = offset + UInt64(data.count)
            var text = (partial[key] ?? "") + String(decoding: data, as: UTF8.self)
            if let lastNewline = text.lastIndex(of: "\n") {
                partial[key] = String(text[text.index(after: lastNewline)...])
                text = String(text[..<lastNewline])
            } else {
                partial[key] = text
                continue
            }
            for raw in text.split(separator: "\n") {
                if let line = LogStore.parse(raw, step: stepName) { lines.append(line) }
            }
        }
        return lines.sorted { $0.time < $1.time }
    }

    /// Blocks until a log file of the run changes or `timeout` seconds pass.
    public func waitForChange(timeout: Double) {
        let dir = store.stepsDirectory(tag)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let stepsFD = flow_inotify_watch_dir(dir.path)
        let runFD = flow_inotify_watch_dir(store.runDirectory(tag).path)
        defer {
            if stepsFD >= 0 { close(stepsFD) }
            if runFD >= 0 { close(runFD) }
        }
        // Something may have been written between the last read and the watch being set up.
        if hasUnread() { return }
        var fds = [stepsFD, runFD].filter { $0 >= 0 }.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), Int32(timeout * 1000))
    }

    private func hasUnread() -> Bool {
        for (key, _, url) in sources(step: nil) {
            var st = stat()
            if stat(url.path, &st) == 0, UInt64(st.st_size) > (offsets[key] ?? 0) { return true }
        }
        return false
    }
}
