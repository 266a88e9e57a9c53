import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("flow run") struct RunTests {
    @Test func fanOutAndThreeLevelDAGRunInOrderAndOverlap() throws {
        let p = try TemporaryProject("dag")
        try p.write("Workflows/Dag.swift", """
            import FlowKit

            let dag = Workflow("dag") {
                Command("root", "echo root > {output/data}/value")
                for i in 0..<4 {
                    Command("fan-\\(i)", "cat {root/data}/value; sleep 0.4").needs("root")
                }
                Command("join", "echo joined").needs((0..<4).map { "fan-\\($0)" })
            }
            """)
        let out = try p.flow("run")
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        let db = try p.database()
        let tag = try p.lastTag()
        let steps = Dictionary(uniqueKeysWithValues: try db.steps(of: tag).map { ($0.name, $0) })
        #expect(steps.count == 6)
        #expect(steps.values.allSatisfy { $0.status == .succeeded })
        let root = try #require(steps["root"]), join = try #require(steps["join"])
        let fans = (0..<4).compactMap { steps["fan-\($0)"] }
        for fan in fans {
            #expect(try #require(fan.startedAt) >= (try #require(root.finishedAt)))
            #expect(try #require(join.startedAt) >= (try #require(fan.finishedAt)))
        }
        // With two slots, some pair of fan-out steps ran at the same time.
        let overlapping = fans.indices.contains { i in
            fans.indices.contains { j in
                i != j && fans[i].startedAt! < fans[j].finishedAt! && fans[j].startedAt! < fans[i].finishedAt!
            }
        }
        #expect(overlapping, "independent steps never overlapped: \(fans.map { ($0.startedAt!, $0.finishedAt!) })")
        let logs = try p.flow("logs", tag, "--step", "fan-2")
        #expect(logs.stdout.contains("fan-2 | root"))
    }

    @Test func editingTheWorkflowFileChangesTheNextRunAndTypeErrorsNameFileAndLine() throws {
        let p = try TemporaryProject("edit")
        try p.write("Workflows/Hello.swift", """
            import FlowKit
            let hello = Workflow("hello") {
                Command("say", "echo first version")
            }
            """)
        let first = try p.flow("run")
        #expect(first.status == 0)
        #expect(try p.flow("logs", try p.lastTag()).stdout.contains("first version"))

        try p.write("Workflows/Hello.swift", """
            import FlowKit
            let hello = Workflow("hello") {
                Command("say", "echo second version")
            }
            """)
        let second = try p.flow("run")
        #expect(second.status == 0)
        #expect(try p.flow("logs", try p.lastTag()).stdout.contains("second version"))

        try p.write("Workflows/Hello.swift", """
            import FlowKit
            let hello = Workflow("hello") {
                Command("say", 42)
            }
            """)
        let broken = try p.flow("run")
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("Workflows/Hello.swift:3:"), "\(broken.stderr)")
        #expect(broken.stderr.contains("error:"))
    }

    @Test func aCycleExits2NamingItAndAnUnknownTargetSuggestsTheClosest() throws {
        let p = try TemporaryProject("cycle")
        try p.write("Workflows/Cycle.swift", """
            import FlowKit
            let cyc = Workflow("cyc") {
                Command("prepare", "true").needs("train")
                Command("train", "true").needs("evaluate")
                Command("evaluate", "true").needs("prepare")
            }
            """)
        let out = try p.flow("run")
        #expect(out.status == 2)
        #expect(out.stderr.contains("cycle"))
        for name in ["prepare", "train", "evaluate"] { #expect(out.stderr.contains(name)) }

        try p.write("Workflows/Cycle.swift", """
            import FlowKit
            let cyc = Workflow("cyc") {
                Command("prepare", "true")
                Command("train", "true").needs("prepare")
            }
            """)
        let unknown = try p.flow("run", "trian")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("did you mean 'train'?"), "\(unknown.stderr)")
        #expect(try p.database().runs(limit: 5).isEmpty, "a run was recorded for an invalid request")
    }

    @Test func aTimedOutStepIsKilledWithItsChildren() throws {
        let p = try TemporaryProject("timeout")
        let marker = "1000.\(UInt32.random(in: 1000...99999))"
        try p.write("Workflows/T.swift", """
            import FlowKit
            let t = Workflow("t") {
                Command("hang", "sleep \(marker) & sleep \(marker); echo never").timeout(.seconds(1))
            }
            """)
        let out = try p.flow("run")
        #expect(out.status == 1)
        let step = try #require(try p.database().steps(of: try p.lastTag()).first)
        #expect(step.status == .failed)
        #expect(step.error?.contains("timed out") == true)
        #expect(processes(matching: "sleep \(marker)").isEmpty, "a child of the timed-out step survived")
    }

    @Test func aStepThatFailsTwiceThenSucceedsEndsGreenWithThreeAttempts() throws {
        let p = try TemporaryProject("retry")
        try p.write("Workflows/R.swift", """
            import FlowKit
            let r = Workflow("r") {
                Command("flaky", "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo attempt $n; [ $n -ge 3 ]")
                    .retries(2, backoff: 2, initialDelay: .milliseconds(50))
            }
            """)
        let out = try p.flow("run")
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        let db = try p.database()
        let tag = try p.lastTag()
        let attempts = try db.attempts(of: tag)
        #expect(attempts.map(\.number) == [1, 2, 3])
        #expect(attempts.map(\.exitStatus) == [1, 1, 0])
        #expect(try db.steps(of: tag).first?.status == .succeeded)
        #expect(try db.steps(of: tag).first?.attempts == 3)
    }

    @Test func aSegfaultingStepFailsAloneWhileTheOtherBranchCompletes() throws {
        let p = try TemporaryProject("crash")
        try p.write("Workflows/C.swift", """
            import FlowKit
            let c = Workflow("c") {
                Function("crash") { _ in
                    let p = UnsafeMutablePointer<Int>(bitPattern: 8)!
                    p.pointee = 1
                }
                Command("after", "echo unreachable").needs("crash")
                Command("other", "sleep 0.2; echo other branch")
                Command("other-2", "echo still fine").needs("other")
            }
            """)
        let out = try p.flow("run")
        #expect(out.status == 1)
        let steps = Dictionary(uniqueKeysWithValues: try p.database().steps(of: try p.lastTag()).map { ($0.name, $0) })
        #expect(steps["crash"]?.status == .failed)
        #expect(steps["crash"]?.error?.contains("SIGSEGV") == true, "\(steps["crash"]?.error ?? "")")
        #expect(steps["after"]?.status == .skipped)
        #expect(steps["other"]?.status == .succeeded)
        #expect(steps["other-2"]?.status == .succeeded)
        #expect(try p.database().run(try p.lastTag())?.status == .failed)
    }

    @Test func preprocOnlyRunsUpToThePreprocessingStep() throws {
        let p = try TemporaryProject("preproc")
        try p.write("Workflows/F.swift", """
            import FlowKit
            let f = Workflow("f") {
                Command("tokenize", "echo tok")
                Command("preprocess", "echo pre").needs("tokenize")
                Command("train", "echo train").needs("preprocess")
            }.preprocessing("preprocess")
            """)
        let out = try p.flow("run", "--preproc-only")
        #expect(out.status == 0)
        #expect(try p.database().steps(of: try p.lastTag()).map(\.name) == ["tokenize", "preprocess"])
    }

    @Test func paramsBecomeKebabCaseOptionsAndReachFunctionsAndCommands() throws {
        let p = try TemporaryProject("params")
        try p.write("Workflows/P.swift", """
            import FlowKit
            let p = Workflow("p") {
                Param("learningRate", default: "0.1")
                Param("name")
                Command("cmd", "echo cmd {learningRate} {name}")
                Function("fn") { ctx in ctx.log.info("fn \\(ctx.learningRate) \\(try ctx.param("name"))") }
            }
            """)
        let missing = try p.flow("run")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("--name"))
        let out = try p.flow("run", "--learning-rate", "3e-4", "--name=it's me")
        #expect(out.status == 0, "\(out.stderr)")
        let logs = try p.flow("logs", try p.lastTag()).stdout
        #expect(logs.contains("cmd 3e-4 it's me"))
        #expect(logs.contains("fn 3e-4 it's me"))
    }
}
