import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("remote command steps over SSH") struct RemoteTests {
    @Test func stepsRunOnTheHostWithInputsSentOnceOutputsVerifiedAndSecretsKeptOffDisk() throws {
        let server = try SSHServer()
        let secret = "hf_" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let (p, remoteRoot) = try remoteProject(server, "remote", workflow: """
            import FlowKit
            let r = Workflow("r") {
                Command("make", "head -c 2000000 /dev/urandom > {output/blob}/data.bin; echo made")
                Command("use", "wc -c < {make/blob}/data.bin > {output/count}/n; cp {make/blob}/data.bin {output/count}/copy.bin; echo token=$HF_TOKEN; hostname")
                    .needs("make").secrets("huggingface")
            }
            """)
        try p.write("secrets/huggingface.env", "HF_TOKEN=\(secret)\n", mode: 0o600)
        let out = try p.flow("run", "--host", "loopback")
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        let tag = try p.lastTag()
        #expect(try p.flow("volume", "get", "runs/\(tag)/use/count/n", "-").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2000000")
        let made = try p.flow("volume", "get", "runs/\(tag)/make/blob/data.bin", "made.bin")
        let copied = try p.flow("volume", "get", "runs/\(tag)/use/count/copy.bin", "copied.bin")
        #expect(made.status == 0 && copied.status == 0)
        #expect(try Data(contentsOf: p.root.appendingPathComponent("made.bin")) == Data(contentsOf: p.root.appendingPathComponent("copied.bin")))
        let logs = try p.flow("logs", tag).stdout
        #expect(logs.contains("make | made"))
        #expect(logs.contains("use  | token=****"), "\(logs)")
        #expect(logs.contains("make: sent 0 bytes of input objects"))   // make has no inputs
        // make's outputs became objects of the host's store when it ended: use, on the same host, needs none sent.
        #expect(logs.contains("use: sent 0 bytes of input objects"), "\(logs)")
        // copy.bin has data.bin's content, which the local store holds: only n comes back over the connection.
        #expect(logs.contains("use: fetched 1 of 2 output files (8 bytes)"), "\(logs)")
        #expect(filesContaining(secret, under: remoteRoot).isEmpty, "the secret reached a file on the host")
        #expect(filesContaining(secret, under: p.project.storeDirectory).isEmpty)

        // Running the consumer again on the host sends nothing: the host has every object.
        #expect(try p.flow("run", "--host", "loopback", "--force", "use").status == 0)
        #expect(try p.flow("logs", try p.lastTag()).stdout.contains("use: sent 0 bytes of input objects"))
    }

    @Test func aRemoteStepsSecretIsInNoProcessListing() throws {
        let server = try SSHServer()
        let secret = "hf_" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let handshake = FileManager.default.temporaryDirectory.appendingPathComponent("flow-ps-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: handshake, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: handshake) }
        // The step prints the secret, says it is running, then waits until the test has looked at `ps`.
        let (p, _) = try remoteProject(server, "remote-ps", workflow: """
            import FlowKit
            let r = Workflow("r") {
                Command("leak", "echo token=$HF_TOKEN; touch \(handshake.path)/ready; while [ ! -f \(handshake.path)/seen ]; do sleep 0.02; done")
                    .secrets("huggingface")
            }
            """)
        try p.write("secrets/huggingface.env", "HF_TOKEN=\(secret)\n", mode: 0o600)
        let run = try p.flow("run", "--host", "loopback", "--detach")
        #expect(run.status == 0, "\(run.stderr)")
        let tag = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(waitForFile(handshake.appendingPathComponent("ready")), "the remote step never started")
        // The host is this machine: its sshd sessions and the step's processes are all in this listing.
        let listing = try processListing()
        try Data().write(to: handshake.appendingPathComponent("seen"))
        #expect(listing.contains("\(handshake.path)/seen"), "the step was not running when ps looked")
        #expect(!listing.contains(secret), "the secret is in a ps listing")
        let logs = try p.flow("logs", tag, "-f")
        #expect(logs.status == 0, "\(logs.stdout)")
        #expect(logs.stdout.contains("token=****"))
        #expect(!logs.stdout.contains(secret))
    }

    @Test func filesAndFoldersNamedByParametersAreLaidOutOnTheHost() throws {
        let server = try SSHServer()
        let (p, remoteRoot) = try remoteProject(server, "remote-params", workflow: """
            import FlowKit
            let r = Workflow("r") {
                Param("config", default: "configs/train.yml")
                Param("data", default: "data")
                Param("label", default: "plain words")
                Command("stage", "cp {config} {output/run}/config.yml; ls {data} > {output/run}/files; echo {label} > {output/run}/label")
            }
            """)
        let config = "base_model: tiny\nlearning_rate: \(Double.random(in: 0..<1))\n"
        try p.write("configs/train.yml", config)
        try p.write("data/a.jsonl", "{}\n")
        try p.write("data/b.jsonl", "{}\n")
        let out = try p.flow("run", "--host", "loopback")
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        let tag = try p.lastTag()
        #expect(try p.flow("volume", "get", "runs/\(tag)/stage/run/config.yml", "-").stdout == config)
        #expect(try p.flow("volume", "get", "runs/\(tag)/stage/run/files", "-").stdout == "a.jsonl\nb.jsonl\n")
        #expect(try p.flow("volume", "get", "runs/\(tag)/stage/run/label", "-").stdout == "plain words\n")
        // The command ran against the copies laid out under the run's folder on the host, not the local paths.
        #expect(FileManager.default.fileExists(
            atPath: remoteRoot.appendingPathComponent("runs/\(tag)/stage/a1/params/config/train.yml").path))
    }

    @Test func aDroppedConnectionLosesNoLogLineAndTimeoutsLeaveNoRemoteProcess() throws {
        let server = try SSHServer()
        let marker = "1000.\(UInt32.random(in: 1000...99999))"
        let (p, _) = try remoteProject(server, "reconnect", workflow: """
            import FlowKit
            let r = Workflow("r") {
                Command("talk", "for i in $(seq 1 5); do echo line $i; done; touch {release}.waiting; while [ ! -f {release} ]; do sleep 0.05; done; for i in $(seq 6 10); do echo line $i; done")
                Command("hang", "sleep \(marker)").timeout(.seconds(2))
            }
            """.replacingOccurrences(of: "{release}", with: "\(FileManager.default.temporaryDirectory.path)/flow-release-\(marker)"))
        let release = URL(fileURLWithPath: "\(FileManager.default.temporaryDirectory.path)/flow-release-\(marker)")
        defer { try? FileManager.default.removeItem(at: release) }
        let run = try p.flow("run", "talk", "--host", "loopback", "--detach")
        let tag = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(waitForFile(URL(fileURLWithPath: release.path + ".waiting")))
        // Cut the connection: kill every ssh client of this project (the multiplexed master included).
        let controlDir = p.project.storeDirectory.appendingPathComponent("ssh").path
        for pid in processes(matching: controlDir) { kill(pid, SIGKILL) }
        try Data().write(to: release)
        let logs = try p.flow("logs", tag, "-f")
        #expect(logs.status == 0, "\(logs.stdout)")
        let lines = logs.stdout.split(separator: "\n").filter { $0.hasPrefix("talk | line ") }
        #expect(lines.map { String($0.dropFirst(7)) } == (1...10).map { "line \($0)" })

        let hang = try p.flow("run", "hang", "--host", "loopback")
        #expect(hang.status == 1)
        #expect(try p.database().steps(of: try p.lastTag()).first?.error?.contains("timed out") == true)
        #expect(processes(matching: "sleep \(marker)").isEmpty, "the remote step outlived its timeout")
    }

    @Test func flowStopEndsARemoteStepAndALostStepIsRetried() throws {
        let server = try SSHServer()
        let marker = "2000.\(UInt32.random(in: 1000...99999))"
        let (p, remoteRoot) = try remoteProject(server, "remote-stop", workflow: """
            import FlowKit
            let r = Workflow("r") {
                Command("long", "touch started; sleep \(marker)")
                Command("flaky", "if [ ! -f ../a1/started ]; then touch started; sleep \(marker)9; fi; echo survived")
                    .retries(1, initialDelay: .milliseconds(100))
            }
            """)
        let run = try p.flow("run", "long", "--host", "loopback", "--detach")
        let tag = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The step touches `started` just before it sleeps.
        #expect(waitForFile(remoteRoot.appendingPathComponent("runs/\(tag)/long/a1/started")))
        let stop = try p.flow("stop", tag)
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(try p.database().run(tag)?.status == .stopped)
        #expect(processes(matching: "sleep \(marker)").isEmpty, "the remote step survived flow stop")

        // The first attempt's whole session is killed on the host (as if the host lost it); the retry succeeds.
        let flaky = try p.flow("run", "flaky", "--host", "loopback", "--detach")
        let flakyTag = flaky.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let attempt = remoteRoot.appendingPathComponent("runs/\(flakyTag)/flaky/a1")
        #expect(waitForFile(attempt.appendingPathComponent("started")))
        #expect(waitForFile(attempt.appendingPathComponent("pid")))
        // The pid file names the step's session leader: killing its group is the host losing the step.
        let leader = try #require(Int32(try String(contentsOf: attempt.appendingPathComponent("pid"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(leader > 1)
        if leader > 1 { kill(-leader, SIGKILL) }
        let logs = try p.flow("logs", flakyTag, "-f")
        #expect(logs.status == 0, "\(logs.stdout)")
        #expect(logs.stdout.contains("flaky#2 | survived"), "\(logs.stdout)")
        #expect(logs.stdout.contains("ended without an exit status"))
    }

    @Test func eachRemoteStepUsesFewCommandsAndRunsUnderAPlainPOSIXShell() throws {
        // Every session the sshd opens runs through this ForceCommand: it counts the session, then runs the command
        // with dash (Debian's /bin/sh), not the login shell, so flow's remote scripts must be plain POSIX sh.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flow-count-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let counter = dir.appendingPathComponent("count.sh")
        try Data("#!/bin/sh\necho \"$SSH_ORIGINAL_COMMAND\" | head -c 60 | tr '\\n' ' ' >> \(dir.path)/sessions; echo >> \(dir.path)/sessions\nexec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n".utf8)
            .write(to: counter)
        chmod(counter.path, 0o755)
        let server = try SSHServer(extraConfig: "ForceCommand \(counter.path)")
        let (p, remoteRoot) = try remoteProject(server, "remote-count", workflow: """
            import FlowKit
            let r = Workflow("r") {
                Param("data", default: "big.bin")
                Command("noop", "true")
                Command("folders", "mkdir -p {output/tree}/a/b {output/tree}/c")
                Command("make", "head -c 3000000 /dev/urandom > {output/blob}/mid.bin; echo small > {output/blob}/small.txt; ln -s small.txt {output/blob}/link")
                Command("use", "test $(wc -c < {data}) = 40000000 && cat {make/blob}/link > {output/out}/copy && cp {make/blob}/mid.bin {output/out}/ && ls {folders/tree}/a > {output/out}/listing")
                    .needs("make", "folders")
            }
            """)
        var big = Data(count: 40_000_000)
        big.withUnsafeMutableBytes { for i in stride(from: 0, to: $0.count, by: 4096) { $0[i] = UInt8.random(in: 0...255) } }
        try big.write(to: p.root.appendingPathComponent("big.bin"))
        let sessions = dir.appendingPathComponent("sessions")
        func count() -> Int {
            ((try? String(contentsOf: sessions, encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        let out = try p.flow("run", "noop", "--host", "loopback")
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        // A no-op step: one command starts it and follows its log to the end; it has no inputs and no output files.
        #expect(count() == 1, "\((try? String(contentsOf: sessions, encoding: .utf8)) ?? "")")

        try? FileManager.default.removeItem(at: sessions)
        let all = try p.flow("run", "--host", "loopback")
        #expect(all.status == 0, "\(all.stdout)\(all.stderr)")
        let tag = try p.lastTag()
        // folders: 1 (nothing to fetch: its outputs are folders only); make: 2 (run, fetch); use: 5 (ask, send the
        // 40 MB parameter file streamed alone, send the link's object in an archive, run, fetch) = 8; noop is cached.
        // make's files are objects of the host's store once it ends: they are not sent back for use.
        #expect(count() == 8, "\((try? String(contentsOf: sessions, encoding: .utf8)) ?? "")")
        #expect(try p.flow("volume", "get", "runs/\(tag)/use/out/copy", "-").stdout == "small\n")
        #expect(try p.flow("volume", "get", "runs/\(tag)/use/out/mid.bin", "mid.bin").status == 0)
        #expect(try p.flow("volume", "get", "runs/\(tag)/make/blob/mid.bin", "made.bin").status == 0)
        #expect(try Data(contentsOf: p.root.appendingPathComponent("mid.bin")).count == 3_000_000)
        #expect(try Data(contentsOf: p.root.appendingPathComponent("mid.bin")) == Data(contentsOf: p.root.appendingPathComponent("made.bin")))
        #expect(try p.flow("volume", "get", "runs/\(tag)/use/out/listing", "-").stdout == "b\n")
        let folders = try p.flow("volume", "get", "runs/\(tag)/folders/tree", "tree-copy")
        #expect(folders.status == 0, "\(folders.stderr)")
        var isDir: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: p.root.appendingPathComponent("tree-copy/a/b").path, isDirectory: &isDir) && isDir.boolValue)
        #expect(FileManager.default.fileExists(atPath: p.root.appendingPathComponent("tree-copy/c").path))
        let link = try p.flow("volume", "get", "runs/\(tag)/make/blob", "blob-copy")
        #expect(link.status == 0, "\(link.stderr)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: p.root.appendingPathComponent("blob-copy/link").path)) == "small.txt")
        let logs = try p.flow("logs", tag).stdout
        // The 40,000,000-byte file and the link's 9 bytes (`small.txt`).
        #expect(logs.contains("use: sent 40000009 bytes"), "\(logs)")

        // Again: flow knows the host holds every object use reads, so it asks nothing before it starts, and every
        // output's content is in the local store: one command.
        try? FileManager.default.removeItem(at: sessions)
        #expect(try p.flow("run", "use", "--host", "loopback", "--force", "use").status == 0)
        #expect(count() == 1, "\((try? String(contentsOf: sessions, encoding: .utf8)) ?? "")")
        #expect(try p.flow("logs", try p.lastTag()).stdout.contains("use: sent 0 bytes of input objects"))
        // The host loses its store: the launch finds objects missing, starts nothing, and flow sends them again.
        try FileManager.default.removeItem(at: remoteRoot.appendingPathComponent("objects"))
        let recovered = try p.flow("run", "use", "--host", "loopback", "--force", "use")
        #expect(recovered.status == 0, "\(recovered.stdout)\(recovered.stderr)")
        let again = try p.flow("logs", try p.lastTag()).stdout
        #expect(again.contains("use: loopback lacked objects recorded as sent; sent 43000015 bytes again"), "\(again)")
        // copy and mid.bin have contents the local store holds from make: only listing comes over the connection.
        #expect(logs.contains("use: fetched 1 of 3 output files (2 bytes)"), "\(logs)")
    }

    @Test func aHostRootThatCannotBeWrittenFailsTheStepNamingTheHostAndFolder() throws {
        let server = try SSHServer()
        let p = try TemporaryProject("remote-readonly")
        try p.write("hosts.toml", server.hostsTOML(name: "loopback", root: URL(fileURLWithPath: "/proc/flow-cannot-write")))
        try p.write("Workflows/R.swift", """
            import FlowKit
            let r = Workflow("r") { Command("noop", "true") }
            """)
        let out = try p.flow("run", "--host", "loopback")
        #expect(out.status == 1, "\(out.stdout)\(out.stderr)")
        let error = try p.database().steps(of: try p.lastTag()).first?.error ?? ""
        #expect(error.contains("loopback") && error.contains("cannot create the folder (/proc/flow-cannot-write/runs/"), "\(error)")
    }

    @Test func aRemoteStepsVolumeIsLaidOutOnTheHostAndItsChangesCommittedAtHome() throws {
        let server = try SSHServer()
        let (p, remoteRoot) = try remoteProject(server, "remote-volume", workflow: """
            import FlowKit
            let r = Workflow("r") {
                Command("remember", "echo before:; cat {/cache}/seen 2>/dev/null; echo $FLOW_RUN_TAG >> {/cache}/seen; printf '#!/bin/sh\\n' > {/cache}/tool; chmod +x {/cache}/tool; cp {/cache}/seen {output/log}/seen")
                    .volume("/cache", "cache")
            }
            """)
        #expect(try p.flow("volume", "put", "cache", "hosts.toml", "notes.txt").status == 0)
        let first = try p.flow("run", "--host", "loopback")
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let tag1 = try p.lastTag()
        #expect(try p.flow("volume", "get", "cache/seen", "-").stdout == "\(tag1)\n")
        // What the volume held before the step is still there; the step's new executable came back as one. (A volume
        // version records files and links, path by path, as it does for a local step: the empty folder is not kept.)
        #expect(try p.flow("volume", "get", "cache/notes.txt", "-").stdout.contains("[hosts.loopback]"))
        let copy = try p.flow("volume", "get", "cache", "cache-copy")
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(FileManager.default.isExecutableFile(atPath: p.root.appendingPathComponent("cache-copy/tool").path))
        // The step saw the volume under its run folder on the host, not the local mount.
        #expect(FileManager.default.fileExists(atPath: remoteRoot.appendingPathComponent("runs/\(tag1)/remember/a1/volumes/cache/seen").path))

        let second = try p.flow("run", "--host", "loopback", "--force", "remember")
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        let tag2 = try p.lastTag()
        #expect(try p.flow("volume", "get", "cache/seen", "-").stdout == "\(tag1)\n\(tag2)\n")
        #expect(try p.flow("logs", tag2, "--step", "remember").stdout.contains(tag1), "the second run did not see the first's write")
        let versions = try p.flow("volume", "ls", "cache", "--versions", "--json")
        #expect(versions.stdout.components(separatedBy: "\"version\"").count - 1 == 3, "\(versions.stdout)")
    }
}
