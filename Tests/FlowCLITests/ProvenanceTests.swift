import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("provenance") struct ProvenanceTests {
    func git(_ args: String..., in dir: URL) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = ["-c", "user.name=flow", "-c", "user.email=flow@example.invalid", "-c", "commit.gpgsign=false"] + args
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "git \(args) failed")
    }

    @Test func aRunRecordsItsCommitDirtyStateAndResolvedParamsAndCanBeReproduced() throws {
        let p = try TemporaryProject("provenance")
        try p.write("Workflows/W.swift", """
            import FlowKit
            let w = Workflow("w") {
                Param("lr", default: "0.1")
                Command("train", "echo training at {lr} > {output/model}/lr.txt")
            }
            """)
        try p.write(".gitignore", "volumes/\n")
        try git("init", "-q", in: p.root)
        try git("add", "-A", in: p.root)
        try git("commit", "-q", "-m", "start", in: p.root)

        #expect(try p.flow("run").status == 0)
        let clean = try #require(try p.database().run(try p.lastTag())?.decodedProvenance)
        #expect(clean.gitDirty == false)
        let commit = try #require(clean.gitCommit)
        #expect(commit.count == 40)
        #expect(clean.params == ["lr": "0.1"])

        try p.write("notes.txt", "an uncommitted change\n")
        #expect(try p.flow("run", "--lr", "0.3").status == 0)
        let dirtyTag = try p.lastTag()
        let dirty = try #require(try p.database().run(dirtyTag)?.decodedProvenance)
        #expect(dirty.gitDirty == true)
        #expect(dirty.gitCommit == commit)
        #expect(dirty.gitDiffDigest?.count == 64)
        let show = try p.flow("runs", "show", dirtyTag)
        #expect(show.stdout.contains("git \(commit.prefix(12)) (dirty"), "\(show.stdout)")
        let runJSON = p.project.runsDirectory.appendingPathComponent(dirtyTag).appendingPathComponent("run.json")
        let onDisk = try JSONDecoder().decode(Provenance.self, from: Data(contentsOf: runJSON))
        #expect(onDisk == dirty)

        #expect(try p.flow("run", "--reproduce", dirtyTag).status == 0)
        let reproduced = try #require(try p.database().run(try p.lastTag())?.decodedProvenance)
        #expect(reproduced.params == ["lr": "0.3"])
        #expect(reproduced.targets == dirty.targets)
    }
}
