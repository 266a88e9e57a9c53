import FlowLLM
import Foundation
import Testing

/// The official `openai` Python client (PyPI) against the server, through `openai_client_check.py`.
///
/// The interpreter is the one named by `FLOW_OPENAI_PYTHON` (CI: `.ci/run` makes /opt/flow-ci-venv). Locally:
/// `python3 -m venv /work/venv-openai && /work/venv-openai/bin/pip install openai` and
/// `export FLOW_OPENAI_PYTHON=/work/venv-openai/bin/python`. Without the variable the test fails, so a missing
/// client never passes silently; `FLOW_SKIP_OPENAI_CLIENT=1` skips it explicitly.
@Suite struct OpenAIClientTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("openai_client_check.py")

    @Test(.enabled(if: ProcessInfo.processInfo.environment["FLOW_SKIP_OPENAI_CLIENT"] != "1",
                   "FLOW_SKIP_OPENAI_CLIENT=1 skips the openai client check"))
    func officialPythonClientListsCompletesChatsAndStreams() async throws {
        guard let python = ProcessInfo.processInfo.environment["FLOW_OPENAI_PYTHON"], !python.isEmpty else {
            Issue.record("""
                FLOW_OPENAI_PYTHON is not set, so the official openai client was not run against the server. Set it up with
                  python3 -m venv /work/venv-openai && /work/venv-openai/bin/pip install openai
                  export FLOW_OPENAI_PYTHON=/work/venv-openai/bin/python
                or skip this check explicitly with FLOW_SKIP_OPENAI_CLIENT=1.
                """)
            return
        }
        let generator = try TestServer.generator()
        let expected = try generator.generate(prompt: "The quick brown fox", options: GenerationOptions(maxTokens: 12)).text
        let key = "sk-flow-\(UUID().uuidString)"
        try await TestServer.with(generator, apiKey: key) { server in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [Self.script.path, server.url.appendingPathComponent("v1").absoluteString, key,
                                 TestServer.modelName, expected]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            let status: Int32 = try await withCheckedThrowingContinuation { continuation in
                process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
                do { try process.run() } catch { continuation.resume(throwing: error) }
            }
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(status == 0, "\(printed)")
            #expect(printed.contains("checks passed"), "\(printed)")
        }
    }
}
