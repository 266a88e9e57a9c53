import FlowTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `flow llm serve` as a process: it announces its URL, requires the key it was told to, and on SIGTERM finishes
/// the request in flight and exits 0.
@Suite("flow llm serve") struct ServeCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FlowLLMTests/Fixtures")

    /// The fixture model with its tokenizer beside it, as a merge step leaves them.
    static func modelFolder(in project: TemporaryProject) throws -> URL {
        let folder = project.root.appendingPathComponent("merged")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("generate/model"), to: folder)
        for file in ["tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent("tokenizer/llama2/\(file)"),
                                             to: folder.appendingPathComponent(file))
        }
        return folder
    }

    @Test func servesUntilSIGTERMThenFinishesTheRequestInFlightAndExitsZero() async throws {
        let project = try TemporaryProject("serve")
        let model = try Self.modelFolder(in: project)
        let server = try await ServeProcess(["--model", model.path, "--api-key-env", "FLOW_TEST_SERVE_KEY"],
                                            environment: ["FLOW_TEST_SERVE_KEY": "sk-serve-test"])
        defer { server.stop() }
        let url = server.url
        #expect(url.host == "127.0.0.1")
        #expect(url.port != 8000 && url.port != 0)

        var models = URLRequest(url: url.appendingPathComponent("v1/models"))
        models.setValue("Bearer sk-serve-test", forHTTPHeaderField: "Authorization")
        let (listed, _) = try await URLSession.shared.data(for: models)
        let ids = ((try JSONSerialization.jsonObject(with: listed) as? [String: Any])?["data"] as? [[String: Any]])?.map { $0["id"] as? String }
        #expect(ids == ["merged"])

        var request = URLRequest(url: url.appendingPathComponent("v1/completions"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer sk-serve-test", forHTTPHeaderField: "Authorization")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "model": "merged", "prompt": "Once upon a time", "max_tokens": 200, "temperature": 0, "stream": true,
        ])
        // SIGTERM as soon as the stream has started: the stream still ends properly and the server exits 0
        let body = await StreamedBody { kill(server.process.processIdentifier, SIGTERM) }.run(request)
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains("data: {\"choices\""))
        #expect(text.hasSuffix("data: [DONE]\n\n"), "the stream in flight was cut: \(text.suffix(200))")
        #expect(await server.exitStatus() == 0)
    }

    @Test func aGenerationStillRunningAfterTheGracePeriodIsEndedAndItsStreamClosed() async throws {
        let project = try TemporaryProject("serve-grace")
        let model = try Self.modelFolder(in: project)
        // a context so long that the request could not finish by itself during the test
        let configURL = model.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["max_position_embeddings"] = 200_000
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let server = try await ServeProcess(["--model", model.path, "--shutdown-grace", "0.5"])
        defer { server.stop() }
        var request = URLRequest(url: server.url.appendingPathComponent("v1/completions"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "model": "merged", "prompt": "Once", "max_tokens": 150_000, "temperature": 0, "stream": true,
        ])
        let body = await StreamedBody { kill(server.process.processIdentifier, SIGTERM) }.run(request)
        let events = String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }
        #expect(events.last == "data: [DONE]")
        let last = events.dropLast().last.map { Data($0.dropFirst("data: ".count).utf8) } ?? Data()
        let choice = ((try? JSONSerialization.jsonObject(with: last) as? [String: Any])?["choices"] as? [[String: Any]])?.first
        #expect(choice?["finish_reason"] as? String == "stop")
        #expect(await server.exitStatus() == 0)
    }

    @Test func aMissingAPIKeyVariableIsAConfigurationError() throws {
        let project = try TemporaryProject("serve-key")
        let model = try Self.modelFolder(in: project)
        let result = try project.flow("llm", "serve", "--model", model.path, "--port", "0", "--api-key-env", "FLOW_TEST_NO_SUCH_KEY")
        #expect(result.status == 2)
        #expect(result.stderr.contains("FLOW_TEST_NO_SUCH_KEY"))
    }
}

/// `flow llm serve --port 0 ARGUMENTS` running, with the URL it announced.
final class ServeProcess: @unchecked Sendable {  // immutable after init
    let process: Process
    let url: URL
    private let exited: AsyncStream<Int32>

    init(_ arguments: [String], environment: [String: String] = [:]) async throws {
        let process = Process()
        process.executableURL = TemporaryProject.flowExecutable
        process.arguments = ["llm", "serve", "--port", "0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let (exited, exit) = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { exit.yield($0.terminationStatus) }
        let announced = URLAnnouncement(output.fileHandleForReading)
        try process.run()
        guard let url = await announced.url() else {
            process.terminate()
            throw TestingError("flow llm serve printed no URL")
        }
        self.process = process
        self.url = url
        self.exited = exited
    }

    /// The exit status, once the process has ended.
    func exitStatus() async -> Int32? {
        var statuses = exited.makeAsyncIterator()
        return await statuses.next()
    }

    /// Ends the process if it still runs (a failed test must not leave a server behind).
    func stop() {
        if process.isRunning { process.terminate() }
    }
}

/// Reads a process's standard output until a line `listening on URL` and hands over the URL (nil if the output
/// ends first).
final class URLAnnouncement: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    private var continuation: CheckedContinuation<URL?, Never>?
    private var result: URL??

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [self] handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            lock.lock()
            defer { lock.unlock() }
            guard result == nil else { return }
            if data.isEmpty {
                settle(nil)
                return
            }
            buffer += String(decoding: data, as: UTF8.self)
            if let line = buffer.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                settle(URL(string: String(line.dropFirst("listening on ".count))))
            }
        }
    }

    /// The announced URL.
    func url() async -> URL? {
        await withCheckedContinuation { continuation in
            lock.lock()
            defer { lock.unlock() }
            if let result { continuation.resume(returning: result) } else { self.continuation = continuation }
        }
    }

    private func settle(_ url: URL?) {
        result = .some(url)
        continuation?.resume(returning: url)
        continuation = nil
    }
}

/// A request whose body is collected as it streams; `onFirstBytes` runs once when the first bytes arrive.
final class StreamedBody: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var continuation: CheckedContinuation<Data, Never>?
    private let onFirstBytes: @Sendable () -> Void

    init(onFirstBytes: @escaping @Sendable () -> Void) { self.onFirstBytes = onFirstBytes }

    func run(_ request: URLRequest) async -> Data {
        let session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return await withCheckedContinuation { continuation in
            lock.withLock { self.continuation = continuation }
            session.dataTask(with: request).resume()
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let first = lock.withLock {
            defer { self.data += data }
            return self.data.isEmpty
        }
        if first { onFirstBytes() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        lock.withLock {
            continuation?.resume(returning: data)
            continuation = nil
        }
    }
}
