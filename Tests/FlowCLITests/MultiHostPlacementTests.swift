import FlowEngine
import FlowTesting
import Foundation
import Testing

/// Per-step placement over two SSH hosts, each a real sshd in a network namespace of its own (or on 127.0.0.1 where
/// namespaces cannot be made): "a10" declares one A10G, "big" two A100-80GB. Without `--host`, GPU steps go to the
/// host with their GPUs and the other steps run here.
@Suite("per-step GPU placement across hosts") struct MultiHostPlacementTests {
    /// A project whose hosts.toml declares the two hosts (and `extraHosts`), with `workflow` as its only workflow.
    func project(_ name: String, _ servers: [SSHServer], workflow: String, extraHosts: String = "") throws
        -> TemporaryProject
    {
        let p = try TemporaryProject(name)
        try p.write("hosts.toml",
                    servers[0].hostsTOML(name: "a10", root: p.root.appendingPathComponent("a10-root"),
                                         extra: "gpus = [\"A10G\"]\nslots = 4")
                        + servers[1].hostsTOML(name: "big", root: p.root.appendingPathComponent("big-root"),
                                               extra: "gpus = [\"A100-80GB\", \"A100-80GB\"]\nslots = 2")
                        + extraHosts)
        try p.write("Workflows/P.swift", workflow)
        return p
    }

    func output(_ p: TemporaryProject, _ tag: String, _ path: String) throws -> String {
        try p.flow("volume", "get", "runs/\(tag)/\(path)", "-").stdout
    }

    @Test func gpuStepsGoToTheHostWithTheirGPUsAndQueueForThem() throws {
        let servers = try SSHServer.separateHosts(2)
        defer { withExtendedLifetime(servers) {} }
        // Each A10G step stamps when it starts and ends (nanoseconds, from the host's clock).
        let report = "echo $CUDA_VISIBLE_DEVICES > {output/o}/cuda; pwd > {output/o}/where"
        let stamped = "date +%s%N > {output/o}/start; \(report); date +%s%N > {output/o}/end"
        let p = try project("placement", servers, workflow: """
            import FlowKit
            let p = Workflow("p") {
                Command("prep", "echo prepared > {output/data}/d.txt; pwd > {output/data}/where")
                Command("small", "cat {prep/data}/d.txt > {output/o}/input; \(stamped)").needs("prep").gpu("A10G")
                Command("pair", "\(report)").gpu("A100-80GB:2")
                Command("q1", "\(stamped)").gpu("A10G")
                Command("q2", "\(stamped)").gpu("A10G")
            }
            """)
        let run = try p.flow("run")
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let tag = try p.lastTag()

        let attempts = try p.database().attempts(of: tag)
        let hostOf = Dictionary(attempts.map { ($0.step, $0.host) }) { _, last in last }
        #expect(hostOf == ["prep": "local", "small": "a10", "pair": "big", "q1": "a10", "q2": "a10"], "\(hostOf)")
        #expect(try output(p, tag, "prep/data/where") == p.root.path + "\n")
        #expect(try output(p, tag, "small/o/input") == "prepared\n")
        let a10Root = p.root.appendingPathComponent("a10-root").path, bigRoot = p.root.appendingPathComponent("big-root").path
        for step in ["small", "q1", "q2"] {
            #expect(try output(p, tag, "\(step)/o/cuda") == "0\n")
            #expect(try output(p, tag, "\(step)/o/where").hasPrefix(a10Root + "/runs/\(tag)/\(step)/"))
        }
        #expect(try output(p, tag, "pair/o/cuda") == "0,1\n")
        #expect(try output(p, tag, "pair/o/where").hasPrefix(bigRoot + "/runs/\(tag)/pair/"))

        // The host's one A10G is one step's at a time (its 4 slots would let all three run at once): no two of the
        // three steps overlap, neither by the engine's records nor by the steps' own clocks.
        let a10Steps = ["small", "q1", "q2"]
        let recorded = try a10Steps.map { step in
            let a = try #require(attempts.first { $0.step == step })
            return (a.startedAt, try #require(a.finishedAt))
        }
        let stamps = try a10Steps.map { step in
            (try #require(Double(output(p, tag, "\(step)/o/start").trimmingCharacters(in: .whitespacesAndNewlines))),
             try #require(Double(output(p, tag, "\(step)/o/end").trimmingCharacters(in: .whitespacesAndNewlines))))
        }
        for intervals in [recorded, stamps] {
            let sorted = intervals.sorted { $0.0 < $1.0 }
            for (a, b) in zip(sorted, sorted.dropFirst()) {
                #expect(a.1 <= b.0, "A10G steps overlapped: \(intervals)")
            }
        }
        #expect(run.stdout.contains("waiting for a GPU (A10G:1) on a10"), "\(run.stdout)")
        let logs = try p.flow("logs", tag).stdout
        #expect(logs.range(of: #"(q1|q2|small): waiting for a GPU \(A10G:1\) on a10"#, options: .regularExpression) != nil,
                "\(logs)")

        let show = try p.flow("runs", "show", tag).stdout
        let pairLine = show.split(separator: "\n").first { $0.hasPrefix("pair ") }
        #expect(pairLine?.contains(" big ") == true, "\(show)")
    }

    @Test func aStepNoHostCanRunFailsTheRunBeforeAnyStepStartsAndUndeclaredGPUsAreAskedFor() throws {
        // The hosts' sessions find an nvidia-smi that reports two L4s first on their PATH.
        let tools = FileManager.default.temporaryDirectory.appendingPathComponent("flow-smi-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: tools) }
        try FileManager.default.createDirectory(at: tools, withIntermediateDirectories: true)
        let smi = tools.appendingPathComponent("nvidia-smi")
        try Data("#!/bin/sh\nprintf '0, NVIDIA L4\\n1, NVIDIA L4\\n'\n".utf8).write(to: smi)
        chmod(smi.path, 0o755)
        let servers = try SSHServer.separateHosts(2, extraConfig: "SetEnv PATH=\(tools.path):/usr/local/bin:/usr/bin:/bin")
        defer { withExtendedLifetime(servers) {} }
        let marker = "ran-\(UInt32.random(in: 0...UInt32.max))"
        // "probed" declares no GPUs, so flow asks its nvidia-smi; "nowhere" declares none either, and cannot be reached.
        let p = try project("placement-h100", servers, workflow: """
            import FlowKit
            let p = Workflow("p") {
                Command("prep", "touch \(marker)")
                Command("huge", "touch \(marker)-huge").needs("prep").gpu("H100")
                Function("fn") { ctx in ctx.log.info("ran") }.gpu("A10G")
                Command("l4", "echo $CUDA_VISIBLE_DEVICES > {output/o}/cuda").gpu("L4:2")
            }
            """, extraHosts: servers[1].hostsTOML(name: "probed", root: tools.appendingPathComponent("probed-root")) + """
            [hosts.nowhere]
            ssh = "\(servers[0].user)@127.0.0.1"
            port = 1
            root = "/tmp/flow-nowhere"

            """)
        let out = try p.flow("run", "huge")
        #expect(out.status == 2, "\(out.stdout)\(out.stderr)")
        #expect(out.stderr.contains("step 'huge' needs gpu H100"), "\(out.stderr)")
        #expect(out.stderr.contains("host 'local' has"), "\(out.stderr)")
        #expect(out.stderr.contains("host 'a10' has 0: A10G"), "\(out.stderr)")
        #expect(out.stderr.contains("host 'big' has 0: A100-80GB, 1: A100-80GB"), "\(out.stderr)")
        #expect(out.stderr.contains("host 'probed' has 0: NVIDIA L4, 1: NVIDIA L4"), "\(out.stderr)")
        #expect(out.stderr.contains("host 'nowhere' has no known GPUs (unreachable"), "\(out.stderr)")
        #expect(!FileManager.default.fileExists(atPath: p.root.appendingPathComponent(marker).path), "a step ran")
        #expect(try p.database().runs(limit: 10).isEmpty, "a run was started")

        // A Swift function step whose GPUs only a remote host has runs there, through the static worker.
        let fn = try p.flow("run", "fn")
        #expect(fn.status == 0, "\(fn.stdout)\(fn.stderr)")
        let fnTag = try p.lastTag()
        #expect(try p.database().attempts(of: fnTag).first?.host == "a10")
        let fnLogs = try p.flow("logs", fnTag).stdout
        #expect(fnLogs.contains("fn   | ran"), "\(fnLogs)")

        // The GPUs nvidia-smi reported on "probed" are placed like declared ones.
        let l4 = try p.flow("run", "l4")
        #expect(l4.status == 0, "\(l4.stdout)\(l4.stderr)")
        let tag = try p.lastTag()
        #expect(try p.database().attempts(of: tag).first?.host == "probed")
        #expect(try output(p, tag, "l4/o/cuda") == "0,1\n")
    }

    @Test func aDetachedRunFollowsItsRemoteStepAndBringsItsOutputsHome() throws {
        let servers = try SSHServer.separateHosts(2)
        defer { withExtendedLifetime(servers) {} }
        let p = try project("placement-detach", servers, workflow: """
            import FlowKit
            let p = Workflow("p") {
                Command("prep", "echo from-local > {output/o}/x")
                Command("talk", "for i in $(seq 1 40); do echo remote line $i; done; cp {prep/o}/x {output/o}/copy; echo $CUDA_VISIBLE_DEVICES > {output/o}/cuda")
                    .needs("prep").gpu("A10G")
            }
            """)
        let run = try p.flow("run", "--detach")
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let tag = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let followed = try p.flow("logs", tag, "-f")
        #expect(followed.status == 0, "\(followed.stdout)")
        let expected = (1...40).map { "remote line \($0)" }
        for text in [followed.stdout, try p.flow("logs", tag).stdout] {
            let lines = text.split(separator: "\n").filter { $0.hasPrefix("talk | ") }.map { String($0.dropFirst(7)) }
            #expect(lines == expected, "\(text)")
        }
        #expect(try p.database().run(tag)?.status == .succeeded)
        #expect(try p.database().attempts(of: tag).first { $0.step == "talk" }?.host == "a10")
        #expect(try output(p, tag, "talk/o/copy") == "from-local\n")
        #expect(try output(p, tag, "talk/o/cuda") == "0\n")
    }
}
