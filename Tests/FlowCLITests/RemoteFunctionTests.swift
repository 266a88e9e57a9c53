import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("Swift function steps on a remote host through the static worker") struct RemoteFunctionTests {
    static let workflow = """
        import FlowKit
        import Foundation
        let r = Workflow("r") {
            Param("greeting", default: "configs/greeting.txt")
            Command("make", "printf 'alpha\\\\nbeta\\\\n' > {output/words}/list.txt")
            Function("shout") { ctx in
                let words = try String(contentsOf: ctx.input("make/words").appendingPathComponent("list.txt"), encoding: .utf8)
                let prefix = try String(contentsOfFile: ctx.greeting, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                let loud = words.split(separator: "\\n").map { "\\(prefix) \\($0.uppercased())\\n" }.joined()
                try loud.write(to: ctx.output("loud").appendingPathComponent("out.txt"), atomically: true, encoding: .utf8)
                ctx.log.info("token=\\(ProcessInfo.processInfo.environment["HF_TOKEN"] ?? "none")")
                ctx.log.info("ran in \\(FileManager.default.currentDirectoryPath)")
                ctx.progress.record(["words": Double(words.split(separator: "\\n").count)], step: 1)
            }
            .needs("make").secrets("huggingface")
            // The volume is laid out on the host; what the function writes there is committed at home.
            Function("note") { ctx in
                let notes = try ctx.volume("/notes")
                let words = try String(contentsOf: ctx.input("make/words").appendingPathComponent("list.txt"), encoding: .utf8)
                let before = (try? String(contentsOf: notes.appendingPathComponent("seen"), encoding: .utf8)) ?? ""
                try (before + words).write(to: notes.appendingPathComponent("seen"), atomically: true, encoding: .utf8)
            }
            .needs("make").volume("/notes", "notes")
            Command("count", "wc -l < {shout/loud}/out.txt > {output/n}/n").needs("shout")
        }
        """

    @Test func aFunctionStepRunsOnTheHostThroughAStaticWorkerInstalledOnce() throws {
        let server = try SSHServer()
        let secret = "hf_" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let (p, remoteRoot) = try remoteProject(server, "remote-function", workflow: Self.workflow)
        try p.write("configs/greeting.txt", "hey\n")
        try p.write("secrets/huggingface.env", "HF_TOKEN=\(secret)\n", mode: 0o600)

        let out = try p.flow("run", "count", "--host", "loopback")
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        let tag = try p.lastTag()
        #expect(try p.flow("volume", "get", "runs/\(tag)/shout/loud/out.txt", "-").stdout == "hey ALPHA\nhey BETA\n")
        #expect(try p.flow("volume", "get", "runs/\(tag)/count/n/n", "-").stdout.trimmingCharacters(in: .whitespaces) == "2\n")
        let logs = try p.flow("logs", tag).stdout
        // It ran on the host, in the attempt's folder under the remote root, with the secret masked.
        #expect(logs.contains("ran in \(remoteRoot.path)/runs/\(tag)/shout/a1"), "\(logs)")
        #expect(logs.contains("token=****"), "\(logs)")
        #expect(logs.range(of: #"shout: sent [1-9][0-9]{6,} bytes of worker"#, options: .regularExpression) != nil, "\(logs)")
        #expect(filesContaining(secret, under: remoteRoot).isEmpty, "the secret reached a file on the host")
        #expect(filesContaining(secret, under: p.project.storeDirectory).isEmpty)
        // Its progress events came back as metrics, not as log lines.
        let words = try p.database().metrics(of: tag).filter { $0.step == "shout" && $0.name == "words" }
        #expect(words.map(\.value) == [2], "\(words)")
        #expect(!logs.contains("flow-event"), "\(logs)")

        // The installed worker carries its own Swift runtime: no libswift* or Foundation library to find on the host.
        let workers = try FileManager.default.contentsOfDirectory(atPath: remoteRoot.appendingPathComponent("workers").path)
        #expect(workers.count == 1)
        let worker = remoteRoot.appendingPathComponent("workers/\(workers.first ?? "")/worker")
        let ldd = try p.run("/usr/bin/ldd", [worker.path])
        #expect(ldd.status == 0, "\(ldd.stdout)\(ldd.stderr)")
        #expect(ldd.stdout.contains("libc.so"), "\(ldd.stdout)")
        #expect(!ldd.stdout.contains("libswift") && !ldd.stdout.contains("libFoundation") && !ldd.stdout.contains("libdispatch"),
                "\(ldd.stdout)")
        let digest = try Digest.of(Data(contentsOf: worker))
        #expect(workers.first == digest.hex, "the worker's folder is not named by its digest")
        let check = try p.flow("hosts", "check", "loopback", "--json")
        let report = try #require(try JSONDecoder().decode([HostReport].self, from: Data(check.stdout.utf8)).first)
        #expect(report.workers == [digest.hex])
        #expect(report.missing.isEmpty, "\(report.missing)")

        // Running the function again sends no worker: the host has it. Linked again from scratch, the worker is the
        // same bytes, so the host still has it.
        #expect(try p.flow("run", "shout", "--host", "loopback", "--force", "shout").status == 0)
        #expect(try p.flow("logs", try p.lastTag()).stdout.contains("shout: sent 0 bytes of worker"))
        let linked = FileManager.default.enumerator(atPath: p.root.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix("/worker-static") || $0.hasSuffix("/worker-static.sha256") } ?? []
        #expect(linked.count == 2, "\(linked)")
        for file in linked { try FileManager.default.removeItem(at: p.root.appendingPathComponent(file)) }
        #expect(try p.flow("run", "shout", "--host", "loopback", "--force", "shout").status == 0)
        #expect(try p.flow("logs", try p.lastTag()).stdout.contains("shout: sent 0 bytes of worker"))

        // A changed downstream step re-runs alone on the host; the cached function's worker is not sent again.
        try p.write("Workflows/R.swift", Self.workflow.replacingOccurrences(of: "wc -l <", with: "wc -c <"))
        let changed = try p.flow("run", "count", "--host", "loopback")
        #expect(changed.status == 0, "\(changed.stdout)\(changed.stderr)")
        let changedTag = try p.lastTag()
        #expect(try p.database().steps(of: changedTag).first { $0.name == "shout" }?.status == .cached)
        #expect(try p.flow("volume", "get", "runs/\(changedTag)/count/n/n", "-").stdout.trimmingCharacters(in: .whitespaces) == "19\n")
        #expect(!(try p.flow("logs", changedTag).stdout.contains("bytes of worker")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: remoteRoot.appendingPathComponent("workers").path) == workers)

        // A function's volume: laid out on the host from its head, its changes committed at home, version by version.
        for round in 1...2 {
            let note = try p.flow("run", "note", "--host", "loopback")
            #expect(note.status == 0, "\(note.stdout)\(note.stderr)")
            #expect(try p.flow("volume", "get", "notes/seen", "-").stdout == String(repeating: "alpha\nbeta\n", count: round))
        }
    }

    @Test func aFailedRemoteFunctionIsRetriedAndOneThatOverrunsItsTimeoutIsKilledOnTheHost() throws {
        let server = try SSHServer()
        // This file does not import Foundation: the worker links it all the same.
        let (p, remoteRoot) = try remoteProject(server, "remote-function-timeout", workflow: """
            import FlowKit
            struct FirstAttemptFails: Error {}
            let r = Workflow("r") {
                Function("flaky") { ctx in
                    if ctx.attempt == 1 { throw FirstAttemptFails() }
                    ctx.log.info("attempt \\(ctx.attempt) went through")
                }
                .retries(1, initialDelay: .milliseconds(100))
                Function("hang") { ctx in
                    ctx.log.info("waiting")
                    while true { try await Task.sleep(for: .milliseconds(50)) }
                }
                .timeout(.seconds(2))
            }
            """)
        let flaky = try p.flow("run", "flaky", "--host", "loopback")
        #expect(flaky.status == 0, "\(flaky.stdout)\(flaky.stderr)")
        let flakyLogs = try p.flow("logs", try p.lastTag()).stdout
        #expect(flakyLogs.contains("flaky: attempt 1 failed"), "\(flakyLogs)")
        #expect(flakyLogs.contains("flaky#2 | attempt 2 went through"), "\(flakyLogs)")

        let out = try p.flow("run", "hang", "--host", "loopback")
        #expect(out.status == 1, "\(out.stdout)\(out.stderr)")
        let tag = try p.lastTag()
        #expect(try p.database().steps(of: tag).first?.error?.contains("timed out") == true)
        let logs = try p.flow("logs", tag).stdout
        #expect(logs.contains("hang | waiting"), "\(logs)")
        #expect(processes(matching: "\(remoteRoot.path)/runs/\(tag)/hang").isEmpty, "the remote worker outlived its timeout")
    }

    @Test func aWorkerTheHostCannotStartFailsTheStepSayingWhyAndIsNotInstalled() throws {
        // The host's sessions find a broken libopenblas.so.0 first: the dynamic loader refuses to start the worker.
        let libs = FileManager.default.temporaryDirectory.appendingPathComponent("flow-badlib-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: libs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: libs) }
        try Data("not a library\n".utf8).write(to: libs.appendingPathComponent("libopenblas.so.0"))
        let server = try SSHServer(extraConfig: "SetEnv LD_LIBRARY_PATH=\(libs.path)")
        let (p, remoteRoot) = try remoteProject(server, "remote-worker-broken", workflow: """
            import FlowKit
            let r = Workflow("r") {
                Function("hello") { ctx in ctx.log.info("hello") }
            }
            """)
        let out = try p.flow("run", "--host", "loopback")
        #expect(out.status == 1, "\(out.stdout)\(out.stderr)")
        let error = try p.database().steps(of: try p.lastTag()).first?.error ?? ""
        #expect(error.contains("the workflow's worker cannot start on loopback"), "\(error)")
        #expect(error.contains("libopenblas.so.0: file too short"), "\(error)")
        #expect(error.contains("flow hosts check loopback"), "\(error)")
        // Nothing half-installed: the next run tries again rather than trusting a worker that cannot start.
        let workers = (try? FileManager.default.contentsOfDirectory(atPath: remoteRoot.appendingPathComponent("workers").path)) ?? []
        #expect(workers.isEmpty, "\(workers)")
    }
}
