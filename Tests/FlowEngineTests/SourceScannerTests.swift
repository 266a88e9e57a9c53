@testable import FlowEngine
import Testing

@Suite struct SourceScannerTests {
    let source = """
        import FlowKit
        let w = Workflow("w") {
            Param("lr", default: "0.1")
            Function("train") { ctx in
                let s = "a { brace in a string \\(ctx.lr) }" // and } in a comment
                ctx.log.info(s)
            }
            .needs("prep")
            .timeout(.minutes(3))
            Command("prep", "echo {lr}")
        }
        """

    @Test func aDeclarationSpansItsTrailingClosureAndModifiers() throws {
        let r = try #require(SourceScanner.declaration(in: source, line: 4))
        let text = source[r]
        #expect(text.hasPrefix("    Function(\"train\")"))
        #expect(text.hasSuffix(".timeout(.minutes(3))"))
        #expect(!text.contains("Command"))
        #expect(SourceScanner.parametersRead(in: text, declared: ["lr", "other"]) == ["lr"])
        let command = try #require(SourceScanner.declaration(in: source, line: 10))
        #expect(source[command] == "    Command(\"prep\", \"echo {lr}\")")
    }
}
