import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("Ctrl-C and workflow files") struct InterruptTests {
    @Test func ctrlCStopsTheRunAndKillsItsChildren() throws {
        let p = try TemporaryProject("sigint")
        let marker = "2000.\(UInt32.random(in: 1000...99999))"
        try p.write("Workflows/I.swift", """
            import FlowKit
            let i = Workflow("i") {
                Command("busy", "touch started; sleep \(marker)")
                Command("later", "echo never").needs("busy")
            }
            """)
        _ = try p.flow("graph")
        let process = Process()
        process.executableURL = TemporaryProject.flowExecutable
        process.arguments = ["run"]
        process.currentDirectoryURL = p.root
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let started = p.root.appendingPathComponent("started")
        #expect(waitForFile(started), "the step never started")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(processes(matching: "sleep \(marker)").isEmpty)
        let tag = try p.lastTag()
        #expect(try p.database().run(tag)?.status == .stopped)
        let steps = try p.database().steps(of: tag)
        #expect(steps.map(\.status) == [.cancelled, .cancelled])
    }

    @Test func aWorkflowFileOutsideWorkflowsRunsByPath() throws {
        let p = try TemporaryProject("bypath")
        let file = try p.write("elsewhere/Extra.swift", """
            import FlowKit
            let extra = Workflow("extra") { Command("hi", "echo from elsewhere") }
            """)
        let out = try p.flow("run", file.path)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try p.flow("logs", try p.lastTag()).stdout.contains("from elsewhere"))
    }

    @Test func aStepAskingForMoreMemoryThanTheMachineHasFailsBeforeStarting() throws {
        let p = try TemporaryProject("memory")
        try p.write("Workflows/M.swift", """
            import FlowKit
            let m = Workflow("m") { Command("huge", "true").memory(100_000_000) }
            """)
        let out = try p.flow("run")
        #expect(out.status == 2)
        #expect(out.stderr.contains("step 'huge' asks for 100000000 MiB"))
    }
}

@Suite("GPU placement") struct PlacementTests {
    @Test func aStepNeedingGPUsNoHostHasFailsTheRunBeforeItStarts() throws {
        let p = try TemporaryProject("gpu")
        try p.write("Workflows/G.swift", """
            import FlowKit
            let g = Workflow("g") {
                Command("prepare", "touch prepared")
                Command("train", "touch trained").needs("prepare").gpu("H100:64", "A100-80GB:64")
            }
            """)
        let out = try p.flow("run")
        #expect(out.status == 2)
        #expect(out.stderr.contains("step 'train' needs gpu H100:64 or A100-80GB:64"), "\(out.stderr)")
        #expect(out.stderr.contains("host 'local' has"))
        #expect(!FileManager.default.fileExists(atPath: p.root.appendingPathComponent("prepared").path))
        #expect(try p.database().runs(limit: 1).isEmpty)
        // Steps that need no GPU still run on their own.
        #expect(try p.flow("run", "prepare").status == 0)
    }
}
