import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("crash safety") struct CrashSafetyTests {
    @Test func sigkillAtRandomMomentsLeavesACleanStoreAndTheNextRunFinishesTheRest() throws {
        let p = try TemporaryProject("sigkill")
        try p.write("Workflows/K.swift", """
            import FlowKit
            let k = Workflow("k") {
                Command("a", "head -c 3000000 /dev/urandom > {output/blob}/a.bin")
                for i in 0..<3 {
                    Command("b\\(i)", "cat {a/blob}/a.bin {a/blob}/a.bin > {output/blob}/b.bin; head -c 1000000 /dev/urandom >> {output/blob}/b.bin")
                }
                Command("c", "cat {b0/blob}/b.bin {b1/blob}/b.bin {b2/blob}/b.bin | wc -c > {output/count}/n")
            }
            """)
        _ = try p.flow("graph")
        var generator = SystemRandomNumberGenerator()
        for round in 0..<20 {
            // A new workflow generation each round, so every round has work to interrupt.
            try p.write("Workflows/K.swift", try String(contentsOf: p.root.appendingPathComponent("Workflows/K.swift"),
                                                        encoding: .utf8).replacingOccurrences(of: "for i in 0..<3 {",
                                                                                              with: "for i in 0..<3 { // \(round)"))
            let process = Process()
            process.executableURL = TemporaryProject.flowExecutable
            process.arguments = round % 5 == 4 ? ["run", "--no-cache"] : ["run"]
            process.currentDirectoryURL = p.root
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // The moment of the kill is what is random here; nothing waits on it.
            usleep(UInt32.random(in: 50_000...1_500_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let fsck = try p.flow("volume", "fsck")
            #expect(fsck.status == 0, "round \(round): \(fsck.stdout)")
            let killed = try p.database().runs(limit: 1).first
            let finished = try killed.map { try p.database().steps(of: $0.tag).filter { $0.status == .succeeded }.map(\.name) } ?? []

            let next = try p.flow("run")
            #expect(next.status == 0, "round \(round): \(next.stdout) \(next.stderr)")
            let steps = try p.database().steps(of: try p.lastTag())
            for s in steps where finished.contains(s.name) {
                #expect(s.status == .cached, "round \(round): \(s.name) finished before the kill but ran again")
            }
        }
        #expect(try p.flow("volume", "fsck").status == 0)
        let runs = try p.flow("runs", "--json", "--limit", "100")
        let decoded = try JSONDecoder().decode([RunRecord].self, from: Data(runs.stdout.utf8))
        #expect(!decoded.contains { $0.status == .running }, "a killed run is still shown as running")
    }
}
