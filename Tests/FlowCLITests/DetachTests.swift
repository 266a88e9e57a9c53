import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("detach, logs -f, stop") struct DetachTests {
    static let workflow = """
        import FlowKit
        let d = Workflow("d") {
            Command("wait", "echo waiting; while [ ! -f release ]; do sleep 0.02; done; echo released")
            Command("after", "echo after").needs("wait")
            Command("fail", "echo failing; exit 3").needs("wait")
        }
        """

    @Test func detachReturnsWhileTheRunGoesOnAndLogsFollowToItsEnd() throws {
        let p = try TemporaryProject("detach")
        try p.write("Workflows/D.swift", Self.workflow)
        _ = try p.flow("graph")  // compile once so the timing below is the warm path
        let out = try p.flow("run", "wait", "after", "--detach")
        #expect(out.status == 0)
        let tag = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(tag.hasPrefix("d-"))
        // The CLI is gone; the run is still going, its step blocked on a file only this test writes.
        let run = try #require(try p.database().run(tag))
        #expect(!run.status.isFinished)
        let supervisor = try #require(run.supervisorPid)
        #expect(getsid(supervisor) == supervisor, "the supervisor is not in its own session")
        #expect(getsid(supervisor) != getsid(0))
        print("detach returned in \(String(format: "%.3f", out.seconds)) s")
        try p.write("release", "")
        let logs = try p.flow("logs", tag, "-f")
        #expect(logs.status == 0)
        #expect(logs.stdout.contains("wait  | released"))
        #expect(logs.stdout.contains("after | after"))
        #expect(try p.database().run(tag)?.status == .succeeded)
    }

    @Test func logsFollowExitsWithTheRunsFailureStatus() throws {
        let p = try TemporaryProject("detach-fail")
        try p.write("Workflows/D.swift", Self.workflow)
        try p.write("release", "")
        let out = try p.flow("run", "fail", "--detach")
        let tag = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let logs = try p.flow("logs", tag, "-f", "--timestamps")
        #expect(logs.status == 1)
        #expect(logs.stdout.contains("fail | failing"))
        #expect(logs.stdout.range(of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"#, options: .regularExpression) != nil)
        let shown = try p.flow("runs", "show", tag)
        #expect(shown.stdout.contains("exit status 3"))
    }

    @Test func killingTheSupervisorShowsTheRunAsLostAndStopEndsARun() throws {
        let p = try TemporaryProject("lost")
        try p.write("Workflows/D.swift", Self.workflow)
        let out = try p.flow("run", "wait", "--detach")
        let tag = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let supervisor = try #require(try p.database().run(tag)?.supervisorPid)
        kill(supervisor, SIGKILL)
        #expect(waitForExit(supervisor))
        let runs = try p.flow("runs", "--json")
        let decoded = try JSONDecoder().decode([RunRecord].self, from: Data(runs.stdout.utf8))
        #expect(decoded.first { $0.tag == tag }?.status == .lost)

        let second = try p.flow("run", "wait", "--detach")
        let tag2 = second.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let stop = try p.flow("stop", tag2)
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout.contains("stopped"))
        let steps = try p.database().steps(of: tag2)
        #expect(steps.map(\.status) == [.cancelled])
        #expect(try p.database().run(tag2)?.status == .stopped)
        let again = try p.flow("stop", tag2, "--json")
        #expect(again.stdout.contains("\"status\":\"stopped\""))
    }

    private func waitForExit(_ pid: Int32) -> Bool {
        Supervisor.waitForExit(pid: pid, timeout: 10)
    }
}
