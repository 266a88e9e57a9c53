import Foundation

/// Runs a step on a remote host over SSH with nothing but POSIX tools there: input objects the host lacks are sent
/// and verified by digest; the command runs detached in its own session with its log in a file (followed by byte
/// offset, so a dropped connection loses or doubles no line), after laying its inputs out of the host's object
/// store; the outputs come back as an archive, verified file by file. Each remote command pays an ssh round trip
/// and the host's login shell, so an attempt uses few: one asking which input objects the host lacks (only when the
/// step has inputs), the sends (only when some are missing), one that starts the step and follows its log to the
/// end, and one fetching its outputs (only when they hold files).
struct RemoteStepRunner: Sendable {
    let transport: SSHTransport
    let store: ContentStore
    /// The host's flow root (absolute).
    let root: String
    /// The objects this store knows the host holds.
    let known: HostObjects

    var objects: String { "\(root)/objects" }

    /// The exit status `run` reports when the step's session vanished without an exit status (killed, host rebooted).
    static let lostStatus: Int32 = -2

    /// The digests of the file and link objects under these trees: what laying them out on the host reads from its
    /// store. (Tree objects stay here: the layout lines carry the folders.) Only folders are read as trees: a file's
    /// content is never opened here, however large.
    func objectClosure(_ roots: [Digest]) throws -> Set<Digest> {
        var seen = Set<Digest>()
        var visited = Set<Digest>()
        var trees = roots
        while let d = trees.popLast() {
            guard visited.insert(d).inserted else { continue }
            for entry in try store.tree(d).entries {
                if entry.kind == .directory { trees.append(entry.digest) } else { seen.insert(entry.digest) }
            }
        }
        return seen
    }

    /// Sends the objects the host lacks; returns the bytes of object content sent.
    ///
    /// One command asks which objects are missing (plain shell, no process per object). Objects of
    /// `streamedObjectBytes` or more go one per command, read by ssh straight from the store; the rest go together
    /// as one tar stream. Either way an object is moved into place only once its digest matched on the host:
    /// nothing unverified is published.
    func sendMissing(_ all: Set<Digest>) async throws -> Int64 {
        // Objects the host is known to hold are not asked about (the launch checks they are still there).
        let digests = known.unknown(all)
        guard !digests.isEmpty else { return 0 }
        let list = digests.map(\.hex).sorted().joined(separator: "\n") + "\n"
        let ask = try await transport.run("""
            mkdir -p \(shellQuote(objects)) && cd \(shellQuote(objects)) && while read -r d; do [ -f "\(Self.objectName)" ] || echo "MISSING $d"; done
            """, input: Data(list.utf8))
        guard ask.succeeded else { throw remoteError("cannot list objects", ask) }
        let missing = ask.output.compactMap { $0.hasPrefix("MISSING ") ? Digest(hex: String($0.dropFirst(8))) : nil }
        known.add(digests.subtracting(missing))
        guard !missing.isEmpty else { return 0 }
        var sizes: [Digest: Int64] = [:]
        for d in missing {
            sizes[d] = (try? FileManager.default.attributesOfItem(atPath: store.url(for: d).path)[.size] as? NSNumber)?.int64Value ?? 0
        }
        let large = missing.filter { sizes[$0, default: 0] >= Self.streamedObjectBytes }
        let small = missing.filter { sizes[$0, default: 0] < Self.streamedObjectBytes }
        for d in large {
            try await sendStreamed(d)
            known.add([d])
        }
        if !small.isEmpty {
            try await sendArchive(small)
            known.add(small)
        }
        return missing.reduce(0) { $0 + sizes[$1, default: 0] }
    }

    /// What the launch says when an object the step lays out is not in the host's store.
    static let missingObjects = "objects missing from the host's store"

    /// Objects this large travel alone, each one ssh's standard input straight from the store.
    static let streamedObjectBytes: Int64 = 32 << 20

    /// Shell that sets `H` to the host's fastest SHA-256 command printing `hex path` lines.
    static let chooseHasher = #"if command -v openssl >/dev/null 2>&1; then H="openssl dgst -sha256 -r"; else H=sha256sum; fi"#

    /// Shell for the store-relative name (`ab/cdef…`) of the object whose hex digest is in `$d`, with no process.
    static let objectName = #"${d%"${d#??}"}/${d#??}"#

    /// Sends one object as ssh's standard input straight from the store (see `receiveFile`).
    private func sendStreamed(_ d: Digest) async throws {
        let receive = try await receiveFile(
            store.url(for: d), digest: d, incoming: "\(objects)/incoming-\(d.hex.prefix(16))-\(UInt32.random(in: 0...UInt32.max))",
            final: "\(objects)/\(d.hex.prefix(2))/\(d.hex.dropFirst(2))", mode: "444")
        guard receive.succeeded else { throw remoteError("object \(d.short) was not received intact", receive) }
    }

    /// Sends `file` as ssh's standard input (no copy through this process) to `incoming` on the host, hashes what
    /// landed there (OpenSSL where the host has it), and only when it matches `digest` gives it `mode`, runs
    /// `beforePublish` (more shell, on `$F`) and moves it to `final`: nothing unverified is published. (Hashing the
    /// stream while it arrives, through `tee`, measured slower: tee copies in 8 KiB pieces.)
    func receiveFile(_ file: URL, digest: Digest, incoming: String, final: String, mode: String,
                     beforePublish: String = "") async throws -> SSHTransport.Result
    {
        try await transport.run("""
            set -e; F=\(shellQuote(incoming)); mkdir -p \(shellQuote((incoming as NSString).deletingLastPathComponent))
            \(Self.chooseHasher)
            cat > "$F"
            s=$($H "$F" | cut -c1-64)
            [ "$s" = \(digest.hex) ] || { rm -f "$F"; echo "CORRUPT \(digest.hex) arrived as $s"; exit 3; }
            chmod \(mode) "$F"
            \(beforePublish)
            mkdir -p \(shellQuote((final as NSString).deletingLastPathComponent)); mv "$F" \(shellQuote(final))
            """, inputFile: file, timeout: 3600)
    }

    /// Sends objects as one tar stream made as it is sent, straight from the store under their `ab/cdef…` names:
    /// nothing is staged on disk on either side. They are extracted aside and checked (with OpenSSL's SHA-256 where
    /// the host has it: several times faster than coreutils'), then moved into place.
    private func sendArchive(_ missing: [Digest]) async throws {
        let files = missing.map { (name: "\($0.hex.prefix(2))/\($0.hex.dropFirst(2))", url: store.url(for: $0)) }
        let failure = ErrorBox()
        let incoming = "\(objects)/incoming-\(UInt32.random(in: 0...UInt32.max))"
        let receive = try await transport.run("""
            set -e; mkdir -p \(shellQuote(incoming)); cd \(shellQuote(incoming)); tar -xf -
            \(Self.chooseHasher)
            S=$(find . -type f -exec $H {} +)
            [ "$(printf '%s\\n' "$S" | grep -c .)" = \(missing.count) ] || { echo "INCOMPLETE"; exit 3; }
            printf '%s\\n' "$S" | while read -r s f; do f=${f#\\*}; f=${f#./}; [ "$s" = "${f%%/*}${f#*/}" ] || { echo "CORRUPT $f"; exit 3; }; done
            for p in *; do mkdir -p "../$p"; mv "$p"/* "../$p/"; done
            cd .. && rm -rf \(shellQuote(incoming))
            """, inputWriter: { fd in
                do { try Archive.stream(files: files, to: fd) } catch { failure.record(error) }
            }, timeout: 3600)
        if let error = failure.error { throw error }
        guard receive.succeeded else { throw remoteError("objects were not received intact", receive) }
    }

    /// The layout lines for trees to lay out under the run folder (`kind digest path`, paths relative to it):
    /// folders first, files copied out of the host's store when the step starts.
    func layout(_ trees: [(tree: Digest, at: String)]) throws -> [String] {
        var lines: [String] = []
        func walk(_ d: Digest, _ prefix: String) throws {
            for e in try store.tree(d).entries {
                let path = "\(prefix)/\(e.name)"
                switch e.kind {
                case .directory: lines.append("d \(e.digest.hex) \(path)"); try walk(e.digest, path)
                case .file: lines.append("\(e.executable ? "x" : "f") \(e.digest.hex) \(path)")
                case .symlink: lines.append("l \(e.digest.hex) \(path)")
                }
            }
        }
        for (tree, at) in trees {
            lines.append("d \(tree.hex) \(at)")
            try walk(tree, at)
        }
        return lines
    }

    /// What one attempt runs on the host.
    struct Launch {
        var runDir: String
        var command: String
        var environment: [String: String]
        /// Values that exist only in the step's environment: sent on standard input, never written anywhere.
        var secrets: [String: String]
        /// `layout(_:)` lines: the inputs and parameter files laid out under `runDir` before the command runs.
        var layout: [String]
        /// Folders under `runDir` to create first (`outputs`, the named outputs, empty volumes).
        var folders: [String]
        /// For a Swift function, the worker's invocation, written to `runDir/invocation.json`.
        var invocation: Data?
    }

    /// How a remote attempt ended, and for a success what its outputs and volumes folders hold.
    struct Outcome: Sendable {
        var code: Int32
        var listing: Listing
    }

    /// What a successful attempt left under `outputs/` and `volumes/` in its run folder, as the host listed it when
    /// the step ended (paths relative to the run folder): folders, files with their SHA-256 and whether they are
    /// executable, and other entries (symbolic links).
    struct Listing: Sendable {
        var folders: [String] = []
        var files: [String: Digest] = [:]
        var executables: Set<String> = []
        var others: [String] = []
    }

    /// The shell that, in the run folder, follows the step's log from byte `from` until it ends, then prints its
    /// status and lists its outputs. `tail -s 0.05` checks that the session lives every 50 ms (every second by
    /// default), so a short step ends without a wait.
    private func followScript(nonce: String, from: Int64) -> String {
        """
        n=0
        while [ ! -f pid ]; do
          # No launch claimed the folder (or the one that did gave up): claim it, so a late launch cannot start.
          if mkdir .flow-launch 2>/dev/null || [ $n -gt 200 ]; then printf '\\nFLOW-NOT-STARTED-\(nonce) the step did not start\\n'; exit 0; fi
          n=$((n+1)); sleep 0.05
        done
        p="$(cat pid)"
        printf 'FLOW-LAUNCHED-\(nonce)\\n'
        tail -s 0.05 -c +\(from) -f --pid="$p" log 2>/dev/null
        n=0
        while [ ! -f status ]; do
          if ! kill -0 "$p" 2>/dev/null; then n=$((n+1)); [ $n -gt 40 ] && { printf '\\nFLOW-STATUS-LOST-\(nonce)\\n'; exit 0; }; fi
          sleep 0.05
        done
        s="$(cat status)"
        printf '\\nFLOW-STATUS-\(nonce) %s\\n' "$s"
        # What the step left running in its session could still write its outputs: it ends here, as a local step's
        # process group does, before anything is listed.
        kill -KILL -"$p" 2>/dev/null
        if [ "$s" = 0 ]; then
          \(Self.chooseHasher)
          set -- outputs; [ -d volumes ] && set -- outputs volumes
          find "$@" -type d 2>/dev/null | sed 's/^/FLOW-DIR-\(nonce) /'
          find "$@" ! -type d ! -type f 2>/dev/null | sed 's/^/FLOW-OTHER-\(nonce) /'
          find "$@" -type f -perm -100 2>/dev/null | sed 's/^/FLOW-EXEC-\(nonce) /'
          printf 'FLOW-COUNT-\(nonce) %s\\n' "$(find "$@" -type f 2>/dev/null | wc -l)"
          find "$@" -type f -exec $H {} + 2>/dev/null > .flow-sums
          # Each output file also becomes an object of the host's store (a hard link, made read-only; a copy across
          # file systems), so a later step here that reads it needs nothing sent back.
          O=\(shellQuote(objects))
          while IFS= read -r line; do
            d=${line%% *}; f=${line#* }; f=${f# }; f=${f#\\*}; o="$O/\(Self.objectName)"
            [ -f "$o" ] && continue
            mkdir -p "${o%/*}" && { ln "$f" "$o.$$" 2>/dev/null || cp "$f" "$o.$$"; } && chmod a-w "$o.$$" && mv "$o.$$" "$o"
          done < .flow-sums
          sed 's/^/FLOW-SUM-\(nonce) /' .flow-sums
        fi
        printf 'FLOW-END-\(nonce)\\n'
        """
    }

    /// Starts the attempt in its own session and follows its log until it ends, in one command; after a dropped
    /// connection it reconnects with backoff and resumes the log at the byte after the last one received, so no line
    /// is lost or doubled.
    ///
    /// The one command reads the secrets, the invocation and the layout from standard input, creates the folders,
    /// starts `run.sh` under `setsid` (it lays the inputs out of the host's store, then runs the command, its output
    /// masked line by line before it reaches the log file) and follows the log. Secrets exist only in the step's
    /// environment: the follower unsets them before it starts `tail`.
    func run(_ launch: Launch, onLine: @escaping @Sendable (String) -> Void, deadline: Double?, control: RemoteControl,
             onStop: () async -> Void) async throws -> Outcome
    {
        let nonce = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        var input = ""
        for (k, v) in launch.secrets.sorted(by: { $0.key < $1.key }) {
            input += "\(k)=\(Data(v.utf8).base64EncodedString())\n"
        }
        input += "\n" + (launch.invocation?.base64EncodedString() ?? "") + "\n"
        input += launch.layout.map { $0 + "\n" }.joined() + "FLOW-INPUT-END-\(nonce)\n"
        let exports = launch.environment.sorted(by: { $0.key < $1.key }).map { "export \($0.key)=\(shellQuote($0.value))" }
            .joined(separator: "; ")
        // mawk (Debian's awk) reads a pipe in blocks unless told `-W interactive`, which would hold a running step's
        // lines back. The mask reads each secret's value from its environment, never from its command line.
        let mask = #"BEGIN { n = split(ENVIRON["FLOW_SECRET_NAMES"], k, " ") } { line = $0; for (i = 1; i <= n; i++) { v = ENVIRON[k[i]]; if (v == "") continue; out = ""; while ((p = index(line, v)) > 0) { out = out substr(line, 1, p - 1) "****"; line = substr(line, p + length(v)) } line = out line } print line; fflush() }"#
        let names = launch.secrets.keys.sorted().joined(separator: " ")
        let folders = launch.folders.map(shellQuote).joined(separator: " ")
        // The launch claims the folder (`mkdir .flow-launch`) before it touches anything, so a second launch after a lost
        // connection, or a follower that gave up waiting, never starts the step twice; a launch that fails before
        // `setsid` gives the claim back. Standard input ends with a line of its own: input cut off by a dropped
        // connection starts nothing. A `.flow-stop` file (see `stop`) keeps the step from starting.
        let launchScript = """
            fail() { rmdir .flow-launch 2>/dev/null; printf '\\nFLOW-NOT-STARTED-\(nonce) %s\\n' "$1"; exit 0; }
            mkdir -p \(shellQuote(launch.runDir)) && cd \(shellQuote(launch.runDir)) || fail \(shellQuote("cannot create the folder"))
            if mkdir .flow-launch 2>/dev/null; then
            rm -f status log pid code; mkdir -p \(folders.isEmpty ? "." : folders) || fail "cannot create the output folders"
            cat > run.sh <<'FLOW_RUN_SH' || fail "cannot write run.sh"
            : > log; echo $$ > pid.new; mv pid.new pid
            if [ -f .flow-stop ]; then echo 143 > status; exit 0; fi
            flow_layout() {
              [ -s layout ] || return 0
              while IFS= read -r line; do
                kind=${line%% *}; rest=${line#* }; d=${rest%% *}; path=${rest#* }
                o="$FLOW_OBJECTS/\(Self.objectName)"
                case "$kind" in
                  d) mkdir -p "$path" ;;
                  l) ln -s "$(cat "$o")" "$path" ;;
                  x) { cp --reflink=auto "$o" "$path" 2>/dev/null || cp "$o" "$path"; } && chmod 755 "$path" ;;
                  *) { cp --reflink=auto "$o" "$path" 2>/dev/null || cp "$o" "$path"; } && chmod 644 "$path" ;;
                esac || { echo "flow: cannot lay out $path from the host's store $FLOW_OBJECTS"; return 1; }
              done < layout
            }
            A=awk; if awk -W interactive 'BEGIN { }' < /dev/null > /dev/null 2>&1; then A="awk -W interactive"; fi
            { flow_layout 2>&1 && sh -c "$FLOW_COMMAND" < /dev/null 2>&1; echo $? > code; } | $A '\(mask)' >> log
            mv code status
            FLOW_RUN_SH
            while IFS= read -r line; do [ -z "$line" ] && break; k=${line%%=*}; v=$(printf %s "${line#*=}" | base64 -d); export "$k=$v"; done
            IFS= read -r invocation || true
            if [ -n "$invocation" ]; then printf %s "$invocation" | base64 -d > invocation.json || fail "cannot write invocation.json"; fi
            cat > layout.in || fail "cannot write the layout"
            [ "$(tail -n 1 layout.in)" = "FLOW-INPUT-END-\(nonce)" ] || fail "the launch's input was cut off"
            sed '$d' layout.in > layout && rm -f layout.in || fail "cannot write the layout"
            while read -r kind d path; do
              [ "$kind" = d ] || [ -f \(shellQuote(objects))/"\(Self.objectName)" ] || fail "\(Self.missingObjects)"
            done < layout
            [ -f .flow-stop ] && fail "stopped before it started"
            export FLOW_SECRET_NAMES=\(shellQuote(names)) FLOW_COMMAND=\(shellQuote(launch.command)) FLOW_OBJECTS=\(shellQuote(objects))
            \(exports.isEmpty ? ":" : exports)
            setsid sh run.sh < /dev/null > /dev/null 2>&1 &
            for k in $FLOW_SECRET_NAMES; do unset "$k"; done
            fi
            \(followScript(nonce: nonce, from: 1))
            """
        let received = ByteCounter()
        var failures = 0
        var launched = false
        while true {
            if let deadline, monotonicNow() >= deadline {
                await onStop()
                throw RemoteStop.timeout
            }
            if control.stopRequested {
                await onStop()
                throw RemoteStop.stopped
            }
            let script = launched
                ? "cd \(shellQuote(launch.runDir)) || exit 9\n" + followScript(nonce: nonce, from: received.value + 1)
                : launchScript
            let remaining = deadline.map { max(1, $0 - monotonicNow()) } ?? 24 * 3600
            let splitter = RemoteLogSplitter(nonce: nonce)
            let result = try await transport.stream(script, input: launched ? nil : Data(input.utf8), timeout: remaining,
                                                    started: { control.attach($0) }) { chunk in
                splitter.feed(chunk, received: received, onLine: onLine)
            }
            control.attach(nil)
            if splitter.launched { launched = true }
            if splitter.progressed { failures = 0 }
            switch splitter.ending {
            case .notStarted(let why)? where why == Self.missingObjects:
                throw RemoteMissingObjects()
            case .notStarted(let why)?:
                throw FlowError(.stepFailed, "\(transport.host.name): \(why) (\(launch.runDir))")
            case .lost?:
                return Outcome(code: Self.lostStatus, listing: Listing())
            case .status(let code)? where splitter.complete:
                if code == 0, let count = splitter.fileCount, count != splitter.listing.files.count {
                    throw FlowError(.stepFailed, "\(transport.host.name): the step left \(count) output files in "
                                    + "\(launch.runDir) but only \(splitter.listing.files.count) could be hashed there")
                }
                // The host keeps each output file as an object of its store (see `followScript`).
                known.add(splitter.listing.files.values)
                return Outcome(code: code, listing: splitter.listing)
            case .status?, nil:
                break
            }
            if control.stopRequested || (deadline.map { monotonicNow() >= $0 } ?? false) { continue }
            if result.status == .exited(9) { throw FlowError(.stepFailed, "the step's folder \(launch.runDir) is gone on \(transport.host.name)") }
            failures += 1
            if failures > 8 { throw FlowError(.stepFailed, "lost the connection to \(transport.host.name) (\(result.status.description))") }
            // Reconnect with backoff; the next round resumes at the byte after the last one received.
            try await Task.sleep(for: .milliseconds(200 * (1 << min(failures, 5))))
        }
    }

    /// Ends the step's whole session on the host: SIGTERM, then SIGKILL after the grace period.
    /// A `.flow-stop` file first: a launch still laying things out then never starts the step, and a step that started
    /// meanwhile ends as soon as it has written its pid.
    func stop(runDir: String, grace: Double) async {
        _ = try? await transport.run("""
            cd \(shellQuote(runDir)) 2>/dev/null || exit 0; touch .flow-stop
            n=0; while [ -d .flow-launch ] && [ ! -f pid ] && [ $n -lt 40 ]; do n=$((n+1)); sleep 0.05; done
            [ -f pid ] && p=$(cat pid) && kill -TERM -"$p" 2>/dev/null; sleep \(grace); [ -n "$p" ] && kill -KILL -"$p" 2>/dev/null; true
            """, timeout: grace + 30)
    }

    /// Brings folders of the run folder back (`outputs` and the volumes, each to its local folder, which is
    /// replaced), as the listing says they were when the step ended. Files whose content the local store already has
    /// are copied out of it; only the others (and links) come over the connection, as one tar stream, and each is
    /// checked against the digest the host listed. Returns the files and bytes that came over.
    func fetch(runDir: String, listing: Listing, folders: [(remote: String, local: URL)]) async throws
        -> (files: Int, bytes: Int64)
    {
        func destination(_ path: String) -> URL? {
            for f in folders {
                if path == f.remote { return f.local }
                if path.hasPrefix(f.remote + "/") { return f.local.appendingPathComponent(String(path.dropFirst(f.remote.count + 1))) }
            }
            return nil
        }
        let wanted = listing.files.filter { destination($0.key) != nil && !store.contains($0.value) }.keys.sorted()
        let fetched = Set(wanted)
        let links = listing.others.filter { destination($0) != nil }
        let first = folders.first?.local ?? URL(fileURLWithPath: NSTemporaryDirectory())
        // Beside the first folder (the step's outputs), so that what arrives is moved into place, not copied; named
        // after it: steps of a run on different hosts fetch at the same time.
        let staging = first.deletingLastPathComponent().appendingPathComponent(".fetch-\(first.lastPathComponent)-\(getpid())")
        FilePermissions.remove(staging)
        defer { FilePermissions.remove(staging) }
        var bytes: Int64 = 0
        if !wanted.isEmpty || !links.isEmpty {
            let archive = staging.appendingPathExtension("tar")
            defer { unlink(archive.path) }
            let names = (wanted + links).map { $0 + "\n" }.joined()
            let pack = try await transport.run("cd \(shellQuote(runDir)) && tar -cf - -T -", input: Data(names.utf8),
                                               outputFile: archive, timeout: 3600)
            guard pack.succeeded else { throw remoteError("cannot fetch the outputs", pack) }
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            try Archive.extract(archive, into: staging)
            for rel in wanted {
                let url = staging.appendingPathComponent(rel)
                let data = try Data(contentsOf: url, options: .alwaysMapped)
                guard Digest.of(data) == listing.files[rel] else {
                    throw FlowError(.stepFailed, "\(rel) from \(transport.host.name) did not arrive intact")
                }
                bytes += Int64(data.count)
            }
        }
        let fm = FileManager.default
        for f in folders {
            FilePermissions.remove(f.local)
            try fm.createDirectory(at: f.local, withIntermediateDirectories: true)
        }
        for folder in listing.folders.sorted() {
            if let url = destination(folder) { try fm.createDirectory(at: url, withIntermediateDirectories: true) }
        }
        for (rel, digest) in listing.files {
            guard let target = destination(rel) else { continue }
            try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            let executable = listing.executables.contains(rel)
            if fetched.contains(rel) {
                try fm.moveItem(at: staging.appendingPathComponent(rel), to: target)
                chmod(target.path, executable ? 0o755 : 0o644)
            } else {
                try store.copyObject(digest, to: target, executable: executable)
            }
        }
        for rel in links {
            guard let target = destination(rel) else { continue }
            try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fm.moveItem(at: staging.appendingPathComponent(rel), to: target)
        }
        return (wanted.count, bytes)
    }

    func remoteError(_ what: String, _ r: SSHTransport.Result) -> FlowError {
        FlowError(.stepFailed, "\(transport.host.name): \(what) (\(r.status.description)): "
                  + r.output.suffix(3).joined(separator: " | "))
    }
}

/// Splits the remote stream into log lines, counting the log bytes received, and reads what the script prints after
/// the log (markers carrying this attempt's nonce, so no line a step prints can pass for one): the status, then the
/// output listing, then an end line. The script prints a newline of its own before the first marker; it is not part
/// of the log.
final class RemoteLogSplitter: @unchecked Sendable {
    enum Ending: Equatable { case status(Int32), lost, notStarted(String) }

    private let nonce: String
    private var pending: [UInt8] = []
    private var heldEmptyLine = false
    private(set) var ending: Ending?
    /// The end line arrived: the status and the listing are whole.
    private(set) var complete = false
    private(set) var listing = RemoteStepRunner.Listing()
    /// The step's session exists (its pid file): what follows is its log file.
    private(set) var launched = false
    /// Some of the log arrived this round.
    private(set) var progressed = false
    /// How many regular files the host counted under `outputs/` and `volumes/`.
    private(set) var fileCount: Int?

    init(nonce: String) { self.nonce = nonce }

    func feed(_ chunk: [UInt8], received: ByteCounter, onLine: (String) -> Void) {
        pending += chunk
        while let nl = pending.firstIndex(of: 0x0A) {
            let line = Array(pending[..<nl])
            pending.removeFirst(nl + 1)
            let text = String(decoding: line, as: UTF8.self)
            if ending != nil { trailer(text); continue }
            if text == "FLOW-LAUNCHED-\(nonce)" { launched = true; heldEmptyLine = false; continue }
            if let ending = marker(text) {
                heldEmptyLine = false
                self.ending = ending
                if case .status = ending {} else { complete = true }
                continue
            }
            // Before the marker: what the launch printed (a failing command's message), not the step's log file.
            guard launched else {
                if !line.isEmpty { onLine(text) }
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
            progressed = true
            onLine(text)
        }
    }

    private func marker(_ text: String) -> Ending? {
        guard text.hasPrefix("FLOW-") else { return nil }
        if text == "FLOW-STATUS-LOST-\(nonce)" { return .lost }
        if let rest = text.dropPrefix("FLOW-STATUS-\(nonce) "), let code = Int32(rest) { return .status(code) }
        if let rest = text.dropPrefix("FLOW-NOT-STARTED-\(nonce) ") { return .notStarted(rest) }
        return nil
    }

    private func trailer(_ text: String) {
        if text == "FLOW-END-\(nonce)" { complete = true; return }
        func relative(_ path: Substring) -> String {
            var p = String(path.drop(while: { $0 == " " || $0 == "*" }))
            if p.hasPrefix("./") { p.removeFirst(2) }
            return p
        }
        if let rest = text.dropPrefix("FLOW-DIR-\(nonce) ") {
            listing.folders.append(relative(rest[...]))
        } else if let rest = text.dropPrefix("FLOW-OTHER-\(nonce) ") {
            listing.others.append(relative(rest[...]))
        } else if let rest = text.dropPrefix("FLOW-COUNT-\(nonce) ") {
            fileCount = Int(rest.trimmingCharacters(in: .whitespaces))
        } else if let rest = text.dropPrefix("FLOW-EXEC-\(nonce) ") {
            listing.executables.insert(relative(rest[...]))
        } else if let rest = text.dropPrefix("FLOW-SUM-\(nonce) ") {
            let parts = rest.split(separator: " ", maxSplits: 1)
            if parts.count == 2, let d = Digest(hex: String(parts[0])) { listing.files[relative(parts[1])] = d }
        }
    }
}

private extension String {
    func dropPrefix(_ prefix: String) -> String? { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil }
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

/// The host lacked objects the record said it holds: nothing was started.
struct RemoteMissingObjects: Error {}

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
