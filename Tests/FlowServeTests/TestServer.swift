import FlowLLM
import FlowServe
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// A real server on 127.0.0.1 (port 0) over the tiny random Llama of FlowLLMTests' fixtures and its llama2-style
/// tokenizer, and a real HTTP client (URLSession) talking to it.
struct TestServer {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FlowLLMTests/Fixtures")
    static let modelName = "tiny-llama"

    /// The fixture model (context 256) with the fixture tokenizer.
    static func generator() throws -> TextGenerator {
        try TextGenerator(model: fixtures.appendingPathComponent("generate/model"),
                          tokenizer: fixtures.appendingPathComponent("tokenizer/llama2"), threads: ComputeThreads(count: 2))
    }

    /// The fixture model with `max_position_embeddings` raised to `context` (a copy in a temporary folder).
    static func generator(context: Int) throws -> TextGenerator {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-serve-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("generate/model"), to: directory)
        let configURL = directory.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["max_position_embeddings"] = context
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        return try TextGenerator(model: directory, tokenizer: fixtures.appendingPathComponent("tokenizer/llama2"),
                                 threads: ComputeThreads(count: 2))
    }

    let url: URL
    let session: URLSession

    /// Starts a server, runs `body` against it, then stops the server and waits for it to return.
    static func with<T>(_ generator: TextGenerator, apiKey: String? = nil, maxActive: Int = 16,
                        _ body: (TestServer) async throws -> T) async throws -> T {
        let server = OpenAIServer(model: ServedModel(generator: generator, name: modelName),
                                  configuration: ServerConfiguration(host: "127.0.0.1", port: 0, apiKey: apiKey, maxActive: maxActive))
        let (ready, announce) = AsyncStream.makeStream(of: URL.self)
        let running = Task {
            defer { announce.finish() }
            try await server.run(handlingSignals: false) { url in announce.yield(url) }
        }
        var readiness = ready.makeAsyncIterator()
        guard let url = await readiness.next() else {
            try await running.value
            throw OpenAIError(status: .internalServerError, message: "the server stopped before it was ready")
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 128
        configuration.timeoutIntervalForRequest = 300
        let session = URLSession(configuration: configuration)
        defer {
            session.invalidateAndCancel()
            running.cancel()
        }
        let result = try await body(TestServer(url: url, session: session))
        running.cancel()
        try? await running.value
        return result
    }

    /// A GET: the status and the body.
    func get(_ path: String) async throws -> (status: Int, body: Data) {
        try await send(URLRequest(url: url.appendingPathComponent(path)))
    }

    /// A POST of `json` (an object encoded here, or raw bytes as they are).
    func post(_ path: String, _ json: Any, headers: [String: String] = [:]) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: url.appendingPathComponent(path))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = try (json as? Data) ?? JSONSerialization.data(withJSONObject: json)
        return try await send(request)
    }

    private func send(_ request: URLRequest) async throws -> (status: Int, body: Data) {
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}

/// A JSON body as a dictionary (an empty one when it is not an object).
func object(_ data: Data) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
}

/// The `data:` payloads of a server-sent-events body, in order.
func serverSentEvents(_ data: Data) -> [String] {
    String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").compactMap { event in
        event.hasPrefix("data: ") ? String(event.dropFirst("data: ".count)) : nil
    }
}

/// The `error` object of an OpenAI error body, checked to have exactly OpenAI's four fields.
func openAIError(_ data: Data) -> [String: Any] {
    let error = object(data)["error"] as? [String: Any] ?? [:]
    #expect(Set(error.keys) == ["message", "type", "param", "code"], "not OpenAI's error shape: \(String(decoding: data, as: UTF8.self))")
    #expect((error["message"] as? String)?.isEmpty == false)
    return error
}
