import FlowLLM
import FlowServe
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Bad requests get OpenAI's error shape with the right status, and the server keeps serving.
@Suite struct OpenAIServerErrorTests {
    /// A request that should fail, the status it should get and the `param` the error should name.
    struct BadRequest: CustomTestStringConvertible, Sendable {
        var name: String
        var path = "v1/completions"
        var body: @Sendable () throws -> Any
        var status: Int
        var param: String?
        var code: String?
        var testDescription: String { name }
    }

    static let model = TestServer.modelName
    static let badRequests: [BadRequest] = [
        BadRequest(name: "malformed JSON", body: { Data(#"{"model": "tiny-llama", "prompt": "hi""#.utf8) }, status: 400),
        BadRequest(name: "not an object", body: { Data("[1, 2]".utf8) }, status: 400),
        BadRequest(name: "max_tokens of the wrong type", body: { ["model": model, "prompt": "hi", "max_tokens": "5"] },
                   status: 400, param: "max_tokens", code: "invalid_type"),
        BadRequest(name: "temperature of the wrong type", body: { ["model": model, "prompt": "hi", "temperature": "hot"] },
                   status: 400, param: "temperature", code: "invalid_type"),
        BadRequest(name: "message content of the wrong type", path: "v1/chat/completions",
                   body: { ["model": model, "messages": [["role": "user", "content": 5]]] },
                   status: 400, param: "messages[0].content", code: "invalid_type"),
        BadRequest(name: "missing prompt", body: { ["model": model] }, status: 400, param: "prompt",
                   code: "missing_required_parameter"),
        BadRequest(name: "missing model", body: { ["prompt": "hi"] }, status: 400, param: "model", code: "missing_required_parameter"),
        BadRequest(name: "prompt longer than the context", body: { ["model": model, "prompt": String(repeating: "fox jumps ", count: 400)] },
                   status: 400, param: "prompt", code: "context_length_exceeded"),
        BadRequest(name: "max_tokens 0", body: { ["model": model, "prompt": "hi", "max_tokens": 0] },
                   status: 400, param: "max_tokens", code: "integer_below_min_value"),
        BadRequest(name: "max_tokens past the context", body: { ["model": model, "prompt": "hi", "max_tokens": 100_000] },
                   status: 400, param: "max_tokens", code: "context_length_exceeded"),
        BadRequest(name: "n = 2", body: { ["model": model, "prompt": "hi", "n": 2] }, status: 400, param: "n"),
        BadRequest(name: "temperature out of range", body: { ["model": model, "prompt": "hi", "temperature": 3] },
                   status: 400, param: "temperature"),
        BadRequest(name: "empty messages", path: "v1/chat/completions", body: { ["model": model, "messages": [[String: String]]()] },
                   status: 400, param: "messages"),
        BadRequest(name: "unknown model", body: { ["model": "gpt-17", "prompt": "hi"] }, status: 404, param: "model",
                   code: "model_not_found"),
        BadRequest(name: "unknown model (chat)", path: "v1/chat/completions",
                   body: { ["model": "gpt-17", "messages": [["role": "user", "content": "hi"]]] }, status: 404, param: "model",
                   code: "model_not_found"),
        BadRequest(name: "unknown route", path: "v1/embeddings", body: { ["model": model, "input": "hi"] }, status: 404),
    ]

    @Test(arguments: badRequests)
    func badRequestGetsOpenAIsErrorShape(_ bad: BadRequest) async throws {
        try await TestServer.with(try TestServer.generator()) { server in
            let (status, body) = try await server.post(bad.path, try bad.body())
            #expect(status == bad.status, "\(String(decoding: body, as: UTF8.self))")
            let error = openAIError(body)
            #expect(error["type"] as? String == "invalid_request_error")
            if let param = bad.param { #expect(error["param"] as? String == param) }
            if let code = bad.code { #expect(error["code"] as? String == code) }
            // and the server still answers
            let (after, _) = try await server.post("v1/completions", ["model": TestServer.modelName, "prompt": "hi", "max_tokens": 2])
            #expect(after == 200)
        }
    }

    @Test func apiKeyIsRequiredWhenSet() async throws {
        let key = "sk-test-\(UUID().uuidString)"
        try await TestServer.with(try TestServer.generator(), apiKey: key) { server in
            let request: [String: Any] = ["model": TestServer.modelName, "prompt": "hi", "max_tokens": 2]
            let (missing, missingBody) = try await server.post("v1/completions", request)
            #expect(missing == 401)
            #expect(openAIError(missingBody)["code"] as? String == "invalid_api_key")
            let (wrong, wrongBody) = try await server.post("v1/completions", request, headers: ["Authorization": "Bearer \(key)x"])
            #expect(wrong == 401)
            #expect(!String(decoding: wrongBody, as: UTF8.self).contains(key), "the error must not echo keys")
            let (models, _) = try await server.get("v1/models")
            #expect(models == 401)
            let (right, _) = try await server.post("v1/completions", request, headers: ["Authorization": "Bearer \(key)"])
            #expect(right == 200)
            let (health, _) = try await server.get("health")
            #expect(health == 200)
        }
    }

    @Test func fiftyConcurrentStreamsAllCompleteBesideMalformedRequests() async throws {
        try await TestServer.with(try TestServer.generator()) { server in
            let outcomes = try await withThrowingTaskGroup(of: (Int, Int, [String]).self) { group in
                for i in 0..<50 {
                    group.addTask {
                        let (status, body) = try await server.post("v1/completions", [
                            "model": TestServer.modelName, "prompt": "Request \(i) says", "max_tokens": 12 + i % 7,
                            "temperature": 0, "stream": true,
                        ])
                        return (i, status, serverSentEvents(body))
                    }
                }
                for i in 0..<10 {
                    group.addTask {
                        let (status, _) = try await server.post("v1/completions", Data("{\"model\": [".utf8))
                        return (-1 - i, status, [])
                    }
                }
                var all: [(Int, Int, [String])] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            #expect(outcomes.count == 60)
            for (i, status, events) in outcomes {
                if i < 0 {
                    #expect(status == 400)
                    continue
                }
                #expect(status == 200, "stream \(i)")
                #expect(events.last == "[DONE]", "stream \(i) did not end with [DONE]")
                let reasons = events.dropLast().compactMap { event -> String? in
                    let choice = (object(Data(event.utf8))["choices"] as? [[String: Any]])?.first
                    return choice?["finish_reason"] as? String
                }
                #expect(reasons.count == 1, "stream \(i) finish reasons: \(reasons)")
            }
            let (status, body) = try await server.post("v1/completions", ["model": TestServer.modelName, "prompt": "after", "max_tokens": 3])
            #expect(status == 200)
            #expect((object(body)["usage"] as? [String: Int])?["prompt_tokens"] != nil)
            let (_, health) = try await server.get("health")
            #expect(object(health)["running"] as? Int == 0 && object(health)["waiting"] as? Int == 0)
        }
    }

    @Test func clientDisconnectCancelsItsGeneration() async throws {
        // a context long enough that the request could not finish on its own within the test's time
        try await TestServer.with(try TestServer.generator(context: 200_000)) { server in
            var request = URLRequest(url: server.url.appendingPathComponent("v1/completions"))
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: [
                "model": TestServer.modelName, "prompt": "Once", "max_tokens": 150_000, "temperature": 0, "stream": true,
            ])
            let firstBytes = FirstBytes()
            let session = URLSession(configuration: .ephemeral, delegate: firstBytes, delegateQueue: nil)
            defer { session.invalidateAndCancel() }
            let task = session.dataTask(with: request)
            await firstBytes.wait(for: task)
            let (_, during) = try await server.get("health")
            #expect(object(during)["running"] as? Int == 1)
            task.cancel()
            // the scheduler drops the request at its next pass once the server sees the connection close
            var running = 1
            for _ in 0..<3000 where running != 0 {
                running = object(try await server.get("health").body)["running"] as? Int ?? -1
                if running != 0 { try await Task.sleep(nanoseconds: 10_000_000) }
            }
            #expect(running == 0, "the generation was not cancelled after the client went away")
        }
    }
}

/// Resumes a waiter once a data task has received its first bytes.
final class FirstBytes: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var received = false

    func wait(for task: URLSessionDataTask) async {
        await withCheckedContinuation { continuation in
            lock.lock()
            self.continuation = continuation
            lock.unlock()
            task.resume()
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.lock()
        defer { lock.unlock() }
        guard !received else { return }
        received = true
        continuation?.resume()
        continuation = nil
    }
}
