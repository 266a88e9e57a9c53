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
        #expect(logs.contains("sent 0 bytes of input objects"))   // make has no inputs
        #expect(logs.range(of: #"use: sent [1-9][0-9]{6,} bytes"#, options: .regularExpression) != nil, "\(logs)")
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
        let (p, _) = try remoteProject(server, "remote-count", workflow: """
            import FlowKit
            let r = Workflow("r") {
                Command("noop", "true")
                Command("folders", "mkdir -p {output/tree}/a/b {output/tree}/c")
                Command("make", "head -c 40000000 /dev/urandom > {output/blob}/big.bin; echo small > {output/blob}/small.txt; ln -s small.txt {output/blob}/link")
                Command("use", "cmp {make/blob}/big.bin {make/blob}/big.bin && cat {make/blob}/link > {output/out}/copy; ls {folders/tree}/a > {output/out}/listing")
                    .needs("make", "folders")
            }
            """)
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
        // folders: 1 (nothing to fetch: its outputs are folders only); make: 2 (run, fetch); use: 4 (ask, send the
        // 40 MB object streamed alone, send the small ones as one archive, run, fetch) = 8; noop is cached.
        #expect(count() == 8, "\((try? String(contentsOf: sessions, encoding: .utf8)) ?? "")")
        #expect(try p.flow("volume", "get", "runs/\(tag)/use/out/copy", "-").stdout == "small\n")
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
        // 40,000,000 bytes, the small file, the link and the folders' listings.
        #expect(logs.range(of: #"use: sent 4000[0-9]{4} bytes"#, options: .regularExpression) != nil, "\(logs)")
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
        #expect(error.contains("loopback") && error.contains("cannot create /proc/flow-cannot-write/runs/"), "\(error)")
    }
}
