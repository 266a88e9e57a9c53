import Foundation

/// Runs commands on a host with the system OpenSSH client: `~/.ssh/config`, agents, ProxyJump and known_hosts
/// apply as usual; one multiplexed master connection per host; `BatchMode=yes` so nothing ever waits on a prompt.
public struct SSHTransport: Sendable {
    public let host: HostConfig
    /// Folder for the control sockets of the multiplexed connections.
    public let controlDirectory: URL

    public init(host: HostConfig, controlDirectory: URL) {
        self.host = host
        self.controlDirectory = Self.socketDirectory(controlDirectory)
    }

    /// A Unix socket path holds at most 107 bytes, and ssh adds 17 to the socket's name while it sets a master up:
    /// a project deep in the file system gets its control sockets in a short per-user folder under /tmp instead.
    static func socketDirectory(_ preferred: URL) -> URL {
        guard preferred.path.utf8.count + 1 + 40 + 17 > 104 else { return preferred }
        let digest = Digest.of(Data(preferred.path.utf8)).hex.prefix(12)
        return URL(fileURLWithPath: "/tmp/flow-ssh-\(getuid())/\(digest)", isDirectory: true)
    }

    /// The `ssh` arguments before the remote command.
    public var baseArguments: [String] {
        var args = ["-o", "BatchMode=yes", "-o", "ControlMaster=auto",
                    "-o", "ControlPath=\(controlDirectory.path)/%C", "-o", "ControlPersist=120",
                    "-o", "ConnectTimeout=15", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
        if let port = host.port { args += ["-p", String(port)] }
        if let identity = host.identityFile { args += ["-i", identity, "-o", "IdentitiesOnly=yes"] }
        for option in host.sshOptions { args += ["-o", option] }
        return args + [host.ssh ?? "localhost"]
    }

    /// What a remote command printed and how it ended.
    public struct Result: Sendable {
        public var status: ChildProcess.Termination
        public var output: [String]
        public var succeeded: Bool { status.succeeded }
    }

    /// Runs `command` (a shell line, run by the remote login shell) with `input` on its standard input, or what
    /// `inputWriter` writes into the descriptor it is given (a pipe, closed after it returns), or the file
    /// `inputFile` (which ssh reads itself); its standard output
    /// goes to `outputFile` when given, else comes back as lines with standard error.
    public func run(_ command: String, input: Data? = nil, inputWriter: (@Sendable (Int32) -> Void)? = nil,
                    inputFile: URL? = nil, outputFile: URL? = nil, timeout: Double = 120) async throws -> Result {
        let process = try start(command, input: input, inputWriter: inputWriter, inputFile: inputFile, outputFile: outputFile,
                                timeout: timeout)
        let lines = LineCollector()
        let result = await process.wait(output: { lines.append($0) })
        return Result(status: result.termination, output: lines.lines)
    }

    /// Runs `command`, delivering its output as raw byte chunks as they arrive.
    public func stream(_ command: String, input: Data? = nil, timeout: Double, started: (ChildProcess) -> Void = { _ in },
                       onChunk: @escaping @Sendable ([UInt8]) -> Void) async throws -> Result
    {
        let process = try start(command, input: input, inputWriter: nil, inputFile: nil, outputFile: nil, timeout: timeout)
        started(process)
        let result = await process.wait(chunks: onChunk)
        return Result(status: result.termination, output: [])
    }

    private func start(_ command: String, input: Data?, inputWriter: (@Sendable (Int32) -> Void)?, inputFile: URL?,
                       outputFile: URL?, timeout: Double) throws
        -> ChildProcess
    {
        try FileManager.default.createDirectory(at: controlDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var options = ChildProcess.Options(
            executable: SwiftToolchain.which("ssh") ?? "/usr/bin/ssh", arguments: baseArguments + ["--", command],
            environment: ProcessInfo.processInfo.environment, timeoutSeconds: timeout)
        options.standardInput = input
        options.standardInputWriter = inputWriter
        options.standardInputFile = inputFile?.path
        options.standardOutputFile = outputFile?.path
        options.graceSeconds = 2
        return try ChildProcess(options)
    }

    /// Ends the host's master connection, if one is open.
    public func closeMaster() async {
        var options = ChildProcess.Options(
            executable: SwiftToolchain.which("ssh") ?? "/usr/bin/ssh",
            arguments: ["-O", "exit"] + baseArguments, environment: ProcessInfo.processInfo.environment,
            timeoutSeconds: 10)
        options.graceSeconds = 1
        if let p = try? ChildProcess(options) { _ = await p.wait(output: { _ in }) }
    }
}

/// What `flow hosts check` found on a host.
public struct HostReport: Sendable, Codable, Equatable {
    public var name: String
    public var reachable: Bool
    public var error: String?
    public var rootWritable: Bool?
    public var freeDiskBytes: Int64?
    public var gpus: [String]
    /// Digests of the workers installed under the host's `workers/` (one per workflow build that ran there).
    public var workers: [String]
    /// Runtime libraries a worker needs that the host lacks (`ldd` of the installed workers says "not found").
    public var missing: [String]
}

/// Probes hosts: reachable, remote root writable, free disk, GPUs (declared or from `nvidia-smi`), flow's workers
/// and the runtime libraries they lack.
public struct HostProbe: Sendable {
    public let controlDirectory: URL

    public init(controlDirectory: URL) {
        self.controlDirectory = controlDirectory
    }

    public func check(_ host: HostConfig) async -> HostReport {
        if host.isLocal {
            let gpus = GPUInventory.probeLocal().devices.map(\.name)
            var st = statvfs()
            let free = statvfs(host.root, &st) == 0 ? Int64(st.f_bavail) * Int64(st.f_frsize) : nil
            return HostReport(name: host.name, reachable: true, error: nil,
                              rootWritable: access(host.root, W_OK) == 0 || !FileManager.default.fileExists(atPath: host.root),
                              freeDiskBytes: free, gpus: gpus, workers: [], missing: [])
        }
        let ssh = SSHTransport(host: host, controlDirectory: controlDirectory)
        // One round trip gathers everything; markers keep the answers apart from any login banner.
        let root = host.root.hasPrefix("~/") ? "$HOME/" + host.root.dropFirst(2) : host.root
        let script = """
            R="\(root)"; mkdir -p "$R" 2>/dev/null && touch "$R/.flow-probe" 2>/dev/null && rm -f "$R/.flow-probe" && echo "FLOW-WRITABLE yes" || echo "FLOW-WRITABLE no"
            echo "FLOW-DISK $(df -Pk "$R" 2>/dev/null | awk 'NR==2 {print $4}')"
            if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi --query-gpu=index,name --format=csv,noheader | sed 's/^/FLOW-GPU /'; fi
            n=0; for w in "$R"/workers/*/worker; do [ -x "$w" ] || continue; n=$((n+1)); echo "FLOW-WORKER $(basename "$(dirname "$w")")"; ldd "$w" 2>&1 | awk '/version `/ && /not found/ { if (match($0, /`[^'"'"']*'"'"'/)) print "FLOW-MISSING " substr($0, RSTART + 1, RLENGTH - 2); next } /not found/ {print "FLOW-MISSING " $1}'; done
            if [ $n = 0 ]; then for lib in \(Self.workerLibraries.joined(separator: " ")); do ldconfig -p 2>/dev/null | grep -q "$lib" || echo "FLOW-MISSING $lib"; done; fi
            """
        do {
            let result = try await ssh.run(script, timeout: 30)
            guard result.succeeded else {
                let why = result.output.last(where: { !$0.isEmpty }) ?? result.status.description
                return HostReport(name: host.name, reachable: false, error: why, rootWritable: nil, freeDiskBytes: nil,
                                  gpus: host.gpus, workers: [], missing: [])
            }
            var report = HostReport(name: host.name, reachable: true, error: nil, rootWritable: nil, freeDiskBytes: nil,
                                    gpus: [], workers: [], missing: [])
            var probed: [String] = []
            for line in result.output {
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                switch parts[0] {
                case "FLOW-WRITABLE": report.rootWritable = parts[1] == "yes"
                case "FLOW-DISK": report.freeDiskBytes = Int64(parts[1]).map { $0 * 1024 }
                case "FLOW-GPU": probed.append(contentsOf: GPUInventory(nvidiaSMI: parts[1]).devices.map(\.name))
                case "FLOW-WORKER": report.workers.append(parts[1])
                case "FLOW-MISSING" where !report.missing.contains(parts[1]): report.missing.append(parts[1])
                default: break
                }
            }
            report.gpus = host.gpus.isEmpty ? probed : host.gpus
            return report
        } catch {
            return HostReport(name: host.name, reachable: false, error: "\(error)", rootWritable: nil, freeDiskBytes: nil,
                              gpus: host.gpus, workers: [], missing: [])
        }
    }

    /// The system libraries a worker links dynamically, looked for with `ldconfig` until a worker is installed.
    static let workerLibraries = ["libopenblas.so.0", "libsqlite3.so.0", "libstdc++.so.6"]
}
