import FlowEngine
import Foundation

/// A real OpenSSH server on 127.0.0.1 (or on a network namespace's own address) with a random port, generated host
/// and user keys and a known_hosts file, all in a temporary directory; for tests of remote hosts. Needs Debian's
/// openssh-server (and root for sshd).
public final class SSHServer: @unchecked Sendable {
    public let directory: URL
    /// The address it listens on.
    public let address: String
    public let port: Int
    /// The namespace it runs in (kept alive as long as the server).
    public let namespace: NetworkNamespace?
    public let user: String
    public var identityFile: URL { directory.appendingPathComponent("client_ed25519") }
    public var knownHosts: URL { directory.appendingPathComponent("known_hosts") }
    private let process: ChildProcess
    private let exited = DispatchSemaphore(value: 0)

    /// Starts sshd on 127.0.0.1, or inside `namespace` on its address.
    /// - Parameters:
    ///   - extraConfig: more sshd_config lines (e.g. `SetEnv PATH=...` for the sessions' environment).
    public init(namespace: NetworkNamespace? = nil, extraConfig: String = "") throws {
        self.namespace = namespace
        address = namespace?.address ?? "127.0.0.1"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-sshd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        user = String(cString: getpwuid(getuid()).pointee.pw_name)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        for key in ["host_ed25519", "client_ed25519"] {
            try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", directory.appendingPathComponent(key).path])
        }
        try FileManager.default.copyItem(at: directory.appendingPathComponent("client_ed25519.pub"),
                                         to: directory.appendingPathComponent("authorized_keys"))
        port = try Self.freePort()
        // the shared template (Sources/FlowTesting/sshd_config), then the caller's lines
        guard let template = Bundle.module.url(forResource: "sshd_config", withExtension: nil) else {
            throw TestingError("the sshd_config template is missing from FlowTesting's resources; rebuild the package")
        }
        let config = try String(contentsOf: template, encoding: .utf8)
            .replacingOccurrences(of: "@PORT@", with: String(port))
            .replacingOccurrences(of: "@ADDRESS@", with: address)
            .replacingOccurrences(of: "@DIR@", with: directory.path)
            + extraConfig + "\n"
        try Data(config.utf8).write(to: directory.appendingPathComponent("sshd_config"))
        let hostKey = try String(contentsOf: directory.appendingPathComponent("host_ed25519.pub"), encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        try Data("[\(address)]:\(port) \(hostKey)\n".utf8).write(to: directory.appendingPathComponent("known_hosts"))

        // sshd closes the descriptors it inherits, which Foundation's Process takes for an exit (and then blocks
        // waiting for it); flow's own ChildProcess watches it by pid instead.
        let sshd = (executable: "/usr/sbin/sshd", arguments: ["-D", "-e", "-f", directory.appendingPathComponent("sshd_config").path])
        let command = namespace?.command(sshd.executable, sshd.arguments) ?? sshd
        var options = ChildProcess.Options(
            executable: command.executable, arguments: command.arguments, environment: ProcessInfo.processInfo.environment)
        options.graceSeconds = 2
        process = try ChildProcess(options)
        let ready = DispatchSemaphore(value: 0)
        let log = ServerLog()
        let child = process, done = exited
        // A plain thread, not a task: tests block their own threads here, and the cooperative pool may have no
        // thread left to run a task on.
        Thread {
            _ = child.waitBlocking(output: { line in
                if log.append(line) { ready.signal() }
            })
            ready.signal()
            done.signal()
        }.start()
        // sshd says when it listens (or exits first).
        ready.wait()
        guard log.listening else {
            throw TestingError("sshd did not start: \(log.text)")
        }
    }

    deinit {
        process.stop()
        exited.wait()
        try? FileManager.default.removeItem(at: directory)
    }

    /// `count` servers, each in a network namespace of its own with its own address where namespaces can be made
    /// (root and iproute2), else all on 127.0.0.1; the fallback is said on standard output.
    public static func separateHosts(_ count: Int, extraConfig: String = "") throws -> [SSHServer] {
        let namespaces: [NetworkNamespace]
        do {
            namespaces = try (0..<count).map { _ in try NetworkNamespace() }
        } catch {
            print("network namespaces unavailable (\(error)); the hosts are sshds on 127.0.0.1 instead")
            return try (0..<count).map { _ in try SSHServer(extraConfig: extraConfig) }
        }
        return try namespaces.map { try SSHServer(namespace: $0, extraConfig: extraConfig) }
    }

    /// A `[hosts.NAME]` table for hosts.toml that reaches this server.
    public func hostsTOML(name: String, root: URL, extra: String = "") -> String {
        """
        [hosts.\(name)]
        ssh = "\(user)@\(address)"
        port = \(port)
        identity_file = "\(identityFile.path)"
        ssh_options = ["UserKnownHostsFile=\(knownHosts.path)", "StrictHostKeyChecking=yes"]
        root = "\(root.path)"
        \(extra)

        """
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw TestingError("cannot find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func run(_ tool: String, _ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestingError("\(tool) \(args) failed") }
    }
}

/// sshd's log lines, and whether it said it listens.
final class ServerLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    private var ready = false

    /// Records a line; true the first time sshd reports it is listening.
    func append(_ line: String) -> Bool {
        lock.withLock {
            lines.append(line)
            if !ready && line.contains("Server listening") { ready = true; return true }
            return false
        }
    }

    var listening: Bool { lock.withLock { ready } }
    var text: String { lock.withLock { lines.joined(separator: "\n") } }
}
