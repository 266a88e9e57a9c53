import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("secrets") struct SecretTests {
    static let workflow = """
        import FlowKit
        import Foundation
        let s = Workflow("s") {
            Command("shell", "./leak.sh").secrets("huggingface")
            Function("swift") { ctx in
                let token = ProcessInfo.processInfo.environment["HF_TOKEN"] ?? "missing"
                ctx.log.info("swift sees \\(token)")
                throw StepContextError("failing with \\(token) in the error")
            }.secrets("huggingface")
            Command("plain", "echo token=${HF_TOKEN:-absent}")
        }
        """

    @Test func aSecretPrintedWholeAndInPiecesAppearsNowhere() throws {
        let p = try TemporaryProject("secrets")
        let secret = "hf_" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        try p.write("Workflows/S.swift", Self.workflow)
        try p.write("secrets/huggingface.env", "# the token\nexport HF_TOKEN=\"\(secret)\"\n", mode: 0o600)
        // Writes the value whole, then in two pieces with a pause between them, on stdout and stderr;
        // then waits for the test to have looked at `ps`.
        try p.write("leak.sh", """
            #!/bin/sh
            echo "whole: $HF_TOKEN"
            printf 'pieces: %s' "$(echo "$HF_TOKEN" | cut -c1-6)"
            sleep 0.1
            printf '%s\\n' "$(echo "$HF_TOKEN" | cut -c7-)"
            echo "stderr: $HF_TOKEN" >&2
            touch ready
            while [ ! -f seen ]; do sleep 0.02; done
            """, mode: 0o755)

        let run = try p.flow(arguments: ["run", "--detach"])
        #expect(run.status == 0)
        let tag = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ready = p.root.appendingPathComponent("ready")
        #expect(waitForFile(ready), "the step never got to print the secret")
        let listing = try processListing()
        try p.write("seen", "")
        #expect(!listing.contains(secret), "the secret is in a ps listing")
        #expect(listing.contains("leak.sh"), "the step was not running when ps looked")

        let logs = try p.flow("logs", tag, "-f")
        #expect(logs.status == 1)  // the Swift step fails on purpose
        #expect(logs.stdout.contains("whole: ****"))
        #expect(logs.stdout.contains("pieces: ****"))
        #expect(logs.stdout.contains("stderr: ****"))
        #expect(logs.stdout.contains("swift sees ****"))
        #expect(logs.stdout.contains("token=absent"), "a step that did not declare the group received it")
        #expect(!logs.stdout.contains(secret))

        // Nothing in the store: logs, records, invocations, the database (including its WAL).
        let enumerator = FileManager.default.enumerator(at: p.project.storeDirectory, includingPropertiesForKeys: nil)
        var scanned = 0
        while let url = enumerator?.nextObject() as? URL {
            guard let data = FileManager.default.contents(atPath: url.path) else { continue }
            scanned += 1
            #expect(data.range(of: Data(secret.utf8)) == nil, "the secret is in \(url.path)")
        }
        #expect(scanned > 3)
        let dump = Process()
        dump.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        dump.arguments = [p.project.databaseURL.path, ".dump"]
        let dumpPipe = Pipe()
        dump.standardOutput = dumpPipe
        if (try? dump.run()) != nil {
            let text = String(decoding: dumpPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            dump.waitUntilExit()
            #expect(text.contains("failing with ****"))
            #expect(!text.contains(secret))
        }
        let show = try p.flow("runs", "show", tag, "--json")
        #expect(!show.stdout.contains(secret))
    }

    @Test func aMissingGroupOrKeyFailsBeforeAnyStepStarts() throws {
        let p = try TemporaryProject("nosecret")
        try p.write("Workflows/S.swift", Self.workflow)
        let out = try p.flow("run")
        #expect(out.status == 2)
        #expect(out.stderr.contains("step 'shell'"))
        #expect(out.stderr.contains("'huggingface'"))
        #expect(out.stderr.contains("secrets/huggingface.env"))
        #expect(try p.database().runs(limit: 1).isEmpty)
    }

    @Test func aSecretsFileReadableByOthersIsRefusedWithTheChmodToRun() throws {
        let p = try TemporaryProject("chmod")
        try p.write("Workflows/S.swift", Self.workflow)
        try p.write("secrets/huggingface.env", "HF_TOKEN=abc\n", mode: 0o644)
        let out = try p.flow("run")
        #expect(out.status == 2)
        #expect(out.stderr.contains("chmod 600"))
        let ls = try p.flow("secret", "ls")
        #expect(ls.stdout.contains("chmod 600"))
        chmod(p.root.appendingPathComponent("secrets/huggingface.env").path, 0o600)
        let ok = try p.flow("secret", "ls")
        #expect(ok.stdout.contains("huggingface: HF_TOKEN"))
        #expect(!ok.stdout.contains("abc"))
        let check = try p.flow("secret", "check")
        #expect(check.status == 0, "\(check.stderr)")
    }
}
