import Foundation

/// Runs a command step on a remote host over SSH with nothing but POSIX tools there: input objects the host
/// lacks are sent (and checked with `sha256sum`), the inputs are laid out from the host's object store, the
/// command runs detached in its own session with its log in a file (followed by byte offset, so a dropped
/// connection loses or doubles no line), and the outputs come back as an archive, verified file by file.
struct RemoteStepRunner: Sendable {
    let transport: SSHTransport
    let store: ContentStore
    /// The host's flow root (absolute).
    let root: String

    var objects: String { "\(root)/objects" }

    /// What `follow` returns when the step's session vanished without an exit status (killed, host rebooted).
    static let lostStatus: Int32 = -2

    /// The digests of every object under these trees (the trees themselves included). Only folders are read as
    /// trees: a file's content is never opened here, however large.
    func objectClosure(_ roots: [Digest]) throws -> Set<Digest> {
        var seen = Set<Digest>()
        var trees = roots
        while let d = trees.popLast() {
            guard seen.insert(d).inserted else { continue }
            for entry in try store.tree(d).entries {
                if entry.kind == .directory { trees.append(entry.digest) } else { seen.insert(entry.digest) }
            }
        }
        return seen
    }

    /// Sends the objects the host lacks; returns the bytes of object content sent.
    func sendMissing(_ digests: Set<Digest>) async throws -> Int64 {
        guard !digests.isEmpty else { return 0 }
        let list = digests.map(\.hex).sorted().joined(separator: "\n") + "\n"
        let ask = try await transport.run("""
            mkdir -p \(shellQuote(objects)) && cd \(shellQuote(objects)) && while read d; do p=$(printf %s "$d" | cut -c1-2); r=$(printf %s "$d" | cut -c3-); [ -f "$p/$r" ] || echo "MISSING $d"; done
            """, input: Data(list.utf8))
        guard ask.succeeded else { throw remoteError("cannot list objects", ask) }
        let missing = ask.output.compactMap { $0.hasPrefix("MISSING ") ? Digest(hex: String($0.dropFirst(8))) : nil }
        guard !missing.isEmpty else { return 0 }
        var bytes: Int64 = 0
        for d in missing {
            bytes += (try? FileManager.default.attributesOfItem(atPath: store.url(for: d).path)[.size] as? NSNumber)?.int64Value ?? 0
        }
        // The missing objects go as a tar stream made as it is sent, straight from the store under their
        // `ab/cdef…` names: nothing is staged on disk on either side.
        let files = missing.map { (name: "\($0.hex.prefix(2))/\($0.hex.dropFirst(2))", url: store.url(for: $0)) }
        let failure = ErrorBox()
        let incoming = "\(objects)/incoming-\(UInt32.random(in: 0...UInt32.max))"
        // Extract aside, check every object's digest (with OpenSSL's SHA-256 where the host has it: several times
        // faster than coreutils'), then move them into place: nothing unverified is published.
        let receive = try await transport.run("""
            set -e; mkdir -p \(shellQuote(incoming)); cd \(shellQuote(incoming)); tar -xf -
            if command -v openssl >/dev/null 2>&1; then H="openssl dgst -sha256 -r"; else H=sha256sum; fi
            S=$(find . -type f -exec $H {} +)
            [ "$(printf '%s\\n' "$S" | grep -c .)" = \(missing.count) ] || { echo "INCOMPLETE"; exit 3; }
            printf '%s\\n' "$S" | while read -r s f; do f=${f#\\*}; f=${f#./}; [ "$s" = "${f%%/*}${f#*/}" ] || { echo "CORRUPT $f"; exit 3; }; done
            for p in *; do mkdir -p "../$p"; mv "$p"/* "../$p/"; done
            cd .. && rm -rf \(shellQuote(incoming))
            """, inputWriter: { fd in
                do { try Archive.stream(files: files, to: fd) } catch { failure.record(error) }
            }, timeout: 3600)
        guard receive.succeeded else { throw remoteError("objects were not received intact", receive) }
        if let error = failure.error { throw error }
        return bytes
    }

    /// Lays out a tree under `remoteDir` from the host's object store (files copied, so a step cannot alter it).
    func materialize(_ tree: Digest, at remoteDir: String) async throws {
        var lines: [String] = []
        func walk(_ d: Digest, _ prefix: String) throws {
            for e in try store.tree(d).entries {
                let path = prefix.isEmpty ? e.name : "\(prefix)/\(e.name)"
                switch e.kind {
                case .directory: lines.append("d \(e.digest.hex) \(path)"); try walk(e.digest, path)
                case .file: lines.append("\(e.executable ? "x" : "f") \(e.digest.hex) \(path)")
                case .symlink: lines.append("l \(e.digest.hex) \(path)")
                }
            }
        }
        try walk(tree, "")
        let result = try await transport.run("""
            set -e; O=\(shellQuote(objects)); mkdir -p \(shellQuote(remoteDir)); cd \(shellQuote(remoteDir))
            while read kind d path; do
              o="$O/$(printf %s "$d" | cut -c1-2)/$(printf %s "$d" | cut -c3-)"
              case "$kind" in
                d) mkdir -p "$path" ;;
                l) ln -s "$(cat "$o")" "$path" ;;
                *) cp "$o" "$path"; if [ "$kind" = x ]; then chmod 755 "$path"; else chmod 644 "$path"; fi ;;
              esac
            done
            """, input: Data((lines.joined(separator: "\n") + "\n").utf8), timeout: 3600)
        guard result.succeeded else { throw remoteError("cannot lay out inputs in \(remoteDir)", result) }
    }

    /// Starts `command` in `runDir` in its own session; secrets arrive on standard input and exist only in the
    /// process's environment. Returns once it runs.
    func start(command: String, runDir: String, environment: [String: String], secrets: [String: String]) async throws {
        var input = ""
        for (k, v) in secrets.sorted(by: { $0.key < $1.key }) {
            input += "\(k)=\(Data(v.utf8).base64EncodedString())\n"
        }
        input += "\n"
        let exports = environment.sorted(by: { $0.key < $1.key }).map { "export \($0.key)=\(shellQuote($0.value))" }
            .joined(separator: "; ")
        // The step's output is masked on the host before it reaches the log file: awk replaces each secret's
        // value (read from its environment, never from its command line) line by line. mawk (Debian's awk) reads
        // a pipe in blocks unless told `-W interactive`, which would hold a running step's lines back.
        let mask = #"BEGIN { n = split(ENVIRON["FLOW_SECRET_NAMES"], k, " ") } { line = $0; for (i = 1; i <= n; i++) { v = ENVIRON[k[i]]; if (v == "") continue; out = ""; while ((p = index(line, v)) > 0) { out = out substr(line, 1, p - 1) "****"; line = substr(line, p + length(v)) } line = out line } print line; fflush() }"#
        let names = secrets.keys.sorted().joined(separator: " ")
        let script = """
            set -e; cd \(shellQuote(runDir)); rm -f status log pid code
            cat > run.sh <<'FLOW_RUN_SH'
            A=awk; if awk -W interactive 'BEGIN { }' < /dev/null > /dev/null 2>&1; then A="awk -W interactive"; fi
            { sh -c "$FLOW_COMMAND" < /dev/null 2>&1; echo $? > code; } | $A '\(mask)' > log
            mv code status
            FLOW_RUN_SH
            while IFS= read -r line; do [ -z "$line" ] && break; k=${line%%=*}; v=$(printf %s "${line#*=}" | base64 -d); export "$k=$v"; done
            export FLOW_SECRET_NAMES=\(shellQuote(names)) FLOW_COMMAND=\(shellQuote(command))
            \(exports.isEmpty ? ":" : exports)
            setsid sh run.sh < /dev/null > /dev/null 2>&1 &
            echo $! > pid
            """
        let result = try await transport.run(script, input: Data(input.utf8))
        guard result.succeeded else { throw remoteError("cannot start the step", result) }
    }

    /// Follows the log from byte `offset` until the step ends, reconnecting when the connection drops.
    /// Returns the step's exit status.
    func follow(runDir: String, onLine: @escaping @Sendable (String) -> Void, deadline: Double?, control: RemoteControl,
                onStop: () async -> Void) async throws -> Int32
    {
        let received = ByteCounter()
        var failures = 0
        while true {
            if let deadline, monotonicNow() >= deadline {
                await onStop()
                throw RemoteStop.timeout
            }
            if control.stopRequested {
                await onStop()
                throw RemoteStop.stopped
            }
            let from = received.value + 1
            // Streams the log while the step's session lives, then prints its status line. `tail -s 0.05` checks
            // that the session lives every 50 ms (every second by default), so a short step ends without a wait.
            let script = """
                cd \(shellQuote(runDir)) || exit 9
                while [ ! -f pid ]; do sleep 0.05; done
                p="$(cat pid)"
                tail -s 0.05 -c +\(from) -f --pid="$p" log 2>/dev/null
                n=0
                while [ ! -f status ]; do
                  if ! kill -0 "$p" 2>/dev/null; then n=$((n+1)); [ $n -gt 40 ] && { printf '\\nFLOW-STATUS-LOST\\n'; exit 0; }; fi
                  sleep 0.05
                done
                printf '\\nFLOW-STATUS %s\\n' "$(cat status)"
                """
            let remaining = deadline.map { max(1, $0 - monotonicNow()) } ?? 24 * 3600
            let splitter = RemoteLogSplitter()
            let status = StatusBox()
            let result = try await transport.stream(script, timeout: remaining, started: { control.attach($0) }) { chunk in
                splitter.feed(chunk, received: received, onLine: onLine, onStatus: { status.value = $0 })
            }
            control.attach(nil)
            if let code = status.value { splitter.flush(received: received, onLine: onLine); return code }
            if control.stopRequested || (deadline.map { monotonicNow() >= $0 } ?? false) { continue }
            if result.status == .exited(9) { throw FlowError(.stepFailed, "the step's folder \(runDir) is gone on \(transport.host.name)") }
            failures += 1
            if failures > 8 { throw FlowError(.stepFailed, "lost the connection to \(transport.host.name) (\(result.status.description))") }
            // Reconnect with backoff; the next round resumes at the byte after the last one received.
            try await Task.sleep(for: .milliseconds(200 * (1 << min(failures, 5))))
        }
    }

    /// Ends the step's whole session on the host: SIGTERM, then SIGKILL after the grace period.
    func stop(runDir: String, grace: Double) async {
        _ = try? await transport.run("""
            cd \(shellQuote(runDir)) 2>/dev/null && [ -f pid ] && p=$(cat pid) && kill -TERM -"$p" 2>/dev/null; sleep \(grace); kill -KILL -"$p" 2>/dev/null; true
            """, timeout: grace + 30)
    }

    /// Brings the step's outputs back into `local` (which must be empty), checking every file's digest.
    func fetchOutputs(runDir: String, to local: URL) async throws {
        // Named after the step's folder: steps of a run on different hosts fetch their outputs at the same time.
        let archive = local.deletingLastPathComponent().appendingPathComponent(".outputs-\(local.lastPathComponent)-\(getpid()).tar")
        defer { unlink(archive.path) }
        let sums = try await transport.run("""
            cd \(shellQuote(runDir))/outputs 2>/dev/null || exit 0; find . -type f -exec sha256sum {} +
            """)
        guard sums.succeeded else { throw remoteError("cannot list the outputs", sums) }
        let pack = try await transport.run("cd \(shellQuote(runDir)) && mkdir -p outputs && tar -cf - -C outputs .",
                                           outputFile: archive, timeout: 3600)
        guard pack.succeeded else { throw remoteError("cannot fetch the outputs", pack) }
        FilePermissions.remove(local)
        try Archive.extract(archive, into: local)
        for line in sums.output {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, let expected = Digest(hex: parts[0]) else { continue }
            let rel = parts[1].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "./", with: "", options: .anchored)
            let data = try Data(contentsOf: local.appendingPathComponent(rel), options: .alwaysMapped)
            guard Digest.of(data) == expected else {
                throw FlowError(.stepFailed, "output \(rel) from \(transport.host.name) did not arrive intact")
            }
        }
    }

    func remoteError(_ what: String, _ r: SSHTransport.Result) -> FlowError {
        FlowError(.stepFailed, "\(transport.host.name): \(what) (\(r.status.description)): "
                  + r.output.suffix(3).joined(separator: " | "))
    }
}

/// Splits the remote log stream into lines, counting the log bytes received and catching the status line
/// (which the remote script prints after a newline of its own, so that newline is not part of the log).
final class RemoteLogSplitter: @unchecked Sendable {
    private var pending: [UInt8] = []
    private var heldEmptyLine = false

    func feed(_ chunk: [UInt8], received: ByteCounter, onLine: (String) -> Void, onStatus: (Int32) -> Void) {
        pending += chunk
        while let nl = pending.firstIndex(of: 0x0A) {
            let line = Array(pending[..<nl])
            pending.removeFirst(nl + 1)
            let text = String(decoding: line, as: UTF8.self)
            if text == "FLOW-STATUS-LOST" {
                heldEmptyLine = false
                onStatus(RemoteStepRunner.lostStatus)
                continue
            }
            if text.hasPrefix("FLOW-STATUS "), let code = Int32(text.dropFirst(12)) {
                heldEmptyLine = false
                onStatus(code)
                continue
            }
            if heldEmptyLine {
                heldEmptyLine = false
                received.add(1)
                onLine("")
            }
            if line.isEmpty {
                heldEmptyLine = true
                continue
            }
            received.add(Int64(line.count + 1))
            onLine(text)
        }
    }

    func flush(received: ByteCounter, onLine: (String) -> Void) {
        if !pending.isEmpty { onLine(String(decoding: pending, as: UTF8.self)) }
        pending.removeAll()
    }
}

final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count: Int64 = 0
    var value: Int64 { lock.withLock { count } }
    func add(_ n: Int64) { lock.withLock { count += n } }
}

/// The error a background writer ran into, for the task that waits on it.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    var error: Error? { lock.withLock { stored } }
    func record(_ error: Error) { lock.withLock { stored = error } }
}

final class StatusBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Int32?
    var value: Int32? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// Why following a remote step ended early.
enum RemoteStop: Error { case timeout, stopped }

/// Lets the engine stop a remote step: ends the current log stream so the follower notices and kills the
/// step's session on the host.
final class RemoteControl: StepStoppable, @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private var stream: ChildProcess?

    var stopRequested: Bool { lock.withLock { requested } }

    func attach(_ process: ChildProcess?) {
        let stopNow = lock.withLock { () -> Bool in
            stream = process
            return requested
        }
        if stopNow { process?.stop() }
    }

    func stop() {
        let current = lock.withLock { () -> ChildProcess? in
            requested = true
            return stream
        }
        current?.stop()
    }
}
