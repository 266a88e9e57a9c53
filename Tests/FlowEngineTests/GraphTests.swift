@testable import FlowEngine
import FlowKit
import Testing

@Suite struct GraphTests {
    func spec(_ steps: [(String, [String], String?)], params: [Param] = []) -> WorkflowSpec {
        var specs: [StepSpec] = []
        for (i, (name, needs, command)) in steps.enumerated() {
            var attrs = StepAttributes()
            attrs.needs = needs
            specs.append(StepSpec(name: name, command: command, attributes: attrs, file: "/p/Workflows/W.swift", line: i + 3))
        }
        return WorkflowSpec(name: "w", params: params, steps: specs, preprocessingStep: nil, defaultTargets: [],
                            file: "/p/Workflows/W.swift", line: 1)
    }

    @Test func planIncludesDependenciesInOrderAndCommandPlaceholdersAddEdges() throws {
        let g = try WorkflowGraph(spec([
            ("data", [], "echo > {output/x}"),
            ("train", [], "cat {data/x}"),
            ("merge", ["train"], nil),
            ("other", [], nil),
        ]))
        #expect(g.dependencies["train"] == ["data"])
        #expect(try g.plan(targets: ["merge"]) == ["data", "train", "merge"])
        #expect(try g.plan(targets: []) == ["data", "train", "merge", "other"])
    }

    @Test func cyclesUnknownNamesAndDuplicatesAreAllReported() {
        #expect {
            try WorkflowGraph(spec([("a", ["c"], nil), ("b", ["a"], nil), ("c", ["b"], nil)]))
        } throws: { error in
            let e = error as! FlowError
            let rotations = ["a → b → c → a", "b → c → a → b", "c → a → b → c"]
            return e.exitCode == 2 && e.message.contains("cycle") && rotations.contains { e.message.contains($0) }
        }
        #expect {
            try WorkflowGraph(spec([("train", [], nil), ("merge", ["trian"], nil), ("train", [], nil)]))
        } throws: { error in
            let m = (error as! FlowError).message
            return m.contains("did you mean 'train'?") && m.contains("declared twice") && m.contains("W.swift:3")
        }
        #expect {
            try WorkflowGraph(spec([("t", [], "run {lr} {nope/out}")], params: [Param("lr")]))
        } throws: { error in (error as! FlowError).message.contains("no step 'nope'") }
    }

    @Test func commandTemplatesQuoteValuesAndLeaveShellSyntaxAlone() throws {
        let t = CommandTemplate("python x.py --lr {lr} --in {data/set} --out {output/model} --base {/pretrained} ${HOME} {{literal}} {not a name}", step: "s")
        #expect(t.inputSteps == ["data"])
        let line = t.render { part in
            switch part {
            case .param: return "it's 1e-4"
            case .input: return "/store/a b"
            case .output: return "/out/model"
            case .volume(let path): return "/mnt\(path)"
            case .literal(let s): return s
            }
        }
        #expect(line == "python x.py --lr 'it'\\''s 1e-4' --in '/store/a b' --out /out/model --base /mnt/pretrained ${HOME} {literal} {not a name}")
    }

    @Test func suggestionsFindTheClosestName() {
        #expect(Suggestion.closest(to: "trian", in: ["train", "merge"]) == "train")
        #expect(Suggestion.closest(to: "zzzzzz", in: ["train", "merge"]) == nil)
    }
}
