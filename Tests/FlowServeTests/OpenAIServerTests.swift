import FlowLLM
import FlowServe
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The OpenAI-compatible endpoints against a real server, compared with `TextGenerator` run directly.
@Suite struct OpenAIServerTests {
    static let prompt = "The quick brown fox"

    @Test func healthAndModelList() async throws {
        try await TestServer.with(try TestServer.generator()) { server in
            let (status, body) = try await server.get("health")
            #expect(status == 200)
            #expect(object(body)["status"] as? String == "ok")
            #expect(object(body)["running"] as? Int == 0)
            let (listed, list) = try await server.get("v1/models")
            #expect(listed == 200)
            #expect(object(list)["object"] as? String == "list")
            let models = object(list)["data"] as? [[String: Any]] ?? []
            #expect(models.count == 1)
            #expect(models.first?["id"] as? String == TestServer.modelName)
            #expect(models.first?["object"] as? String == "model")
            #expect(models.first?["owned_by"] as? String == "flow")
            #expect(models.first?["created"] is Int)
        }
    }

    @Test func greedyCompletionEqualsTextGenerator() async throws {
        let generator = try TestServer.generator()
        let expected = try generator.generate(prompt: Self.prompt, options: GenerationOptions(maxTokens: 20))
        try await TestServer.with(generator) { server in
            let (status, body) = try await server.post("v1/completions", [
                "model": TestServer.modelName, "prompt": Self.prompt, "max_tokens": 20, "temperature": 0,
            ])
            #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
            let answer = object(body)
            #expect(answer["object"] as? String == "text_completion")
            #expect((answer["id"] as? String)?.hasPrefix("cmpl-") == true)
            #expect(answer["model"] as? String == TestServer.modelName)
            let choice = try #require((answer["choices"] as? [[String: Any]])?.first)
            #expect(choice["text"] as? String == expected.text)
            #expect(choice["index"] as? Int == 0)
            #expect(choice["finish_reason"] as? String == (expected.finishReason == .length ? "length" : "stop"))
            #expect(choice.keys.contains("logprobs"))
            let usage = try #require(answer["usage"] as? [String: Int])
            #expect(usage["prompt_tokens"] == generator.tokenizer.encode(Self.prompt).count)
            #expect(usage["completion_tokens"] == expected.completionTokens)
            #expect(usage["total_tokens"] == expected.promptTokens + expected.completionTokens)

            // token ids as the prompt give the same text
            let ids = generator.tokenizer.encode(Self.prompt)
            let (_, byIDs) = try await server.post("v1/completions", [
                "model": TestServer.modelName, "prompt": ids, "max_tokens": 20, "temperature": 0,
            ])
            #expect((object(byIDs)["choices"] as? [[String: Any]])?.first?["text"] as? String == expected.text)
        }
    }

    @Test func stopSequenceCutsTheText() async throws {
        let generator = try TestServer.generator()
        let full = try generator.generate(prompt: Self.prompt, options: GenerationOptions(maxTokens: 30)).text
        let words = full.split(separator: " ")
        try #require(words.count > 3, "the greedy text is too short to pick a stop from: \(full)")
        let stop = String(words[2])
        let cut = String(full[..<full.range(of: stop)!.lowerBound])
        try await TestServer.with(generator) { server in
            let (status, body) = try await server.post("v1/completions", [
                "model": TestServer.modelName, "prompt": Self.prompt, "max_tokens": 30, "temperature": 0, "stop": [stop],
            ])
            #expect(status == 200)
            let choice = (object(body)["choices"] as? [[String: Any]])?.first
            #expect(choice?["text"] as? String == cut)
            #expect(choice?["finish_reason"] as? String == "stop")
        }
    }

    @Test func seededSamplingIsReproducible() async throws {
        try await TestServer.with(try TestServer.generator()) { server in
            var texts: [String] = []
            for seed in [7, 7, 8] {
                let (_, body) = try await server.post("v1/completions", [
                    "model": TestServer.modelName, "prompt": Self.prompt, "max_tokens": 24, "temperature": 1.2,
                    "top_p": 0.95, "seed": seed,
                ])
                texts.append((object(body)["choices"] as? [[String: Any]])?.first?["text"] as? String ?? "")
            }
            #expect(texts[0] == texts[1])
            #expect(texts[0] != texts[2])
        }
    }

    @Test func chatCompletionUsesTheChatTemplate() async throws {
        let generator = try TestServer.generator()
        let messages = [ChatTemplateMessage(role: "system", content: "Be brief."), ChatTemplateMessage(role: "user", content: "Hi there")]
        // the fixture tokenizer's own template is not one flow renders, so the server falls back to ChatML, whose
        // turns end at <|im_end|>
        let endID = generator.tokenizer.id(forToken: "<|im_end|>")
        let options = GenerationOptions(maxTokens: 16, stop: endID == nil ? ["<|im_end|>"] : [], stopTokenIDs: endID.map { [$0] } ?? [])
        let expected = try generator.generate(messages: messages, template: .chatml, options: options)
        try await TestServer.with(generator) { server in
            let (status, body) = try await server.post("v1/chat/completions", [
                "model": TestServer.modelName, "max_tokens": 16, "temperature": 0,
                "messages": messages.map { ["role": $0.role, "content": $0.content] },
            ])
            #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
            let answer = object(body)
            #expect(answer["object"] as? String == "chat.completion")
            #expect((answer["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            let choice = try #require((answer["choices"] as? [[String: Any]])?.first)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == expected.text)
            let usage = try #require(answer["usage"] as? [String: Int])
            #expect(usage["prompt_tokens"] == expected.promptTokens)
            #expect(usage["completion_tokens"] == expected.completionTokens)
            #expect(usage["total_tokens"] == expected.promptTokens + expected.completionTokens)

            // content given as text parts is the same message
            let (_, parts) = try await server.post("v1/chat/completions", [
                "model": TestServer.modelName, "max_tokens": 16, "temperature": 0,
                "messages": [["role": "system", "content": [["type": "text", "text": "Be brief."]]],
                             ["role": "user", "content": [["type": "text", "text": "Hi "], ["type": "text", "text": "there"]]]],
            ])
            let partsMessage = (object(parts)["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]
            #expect(partsMessage?["content"] as? String == expected.text)
        }
    }

    @Test func streamedCompletionJoinsToTheWholeAnswer() async throws {
        try await TestServer.with(try TestServer.generator()) { server in
            let request: [String: Any] = ["model": TestServer.modelName, "prompt": Self.prompt, "max_tokens": 24, "temperature": 0]
            let (_, whole) = try await server.post("v1/completions", request)
            let wholeChoice = (object(whole)["choices"] as? [[String: Any]])?.first
            var streaming = request
            streaming["stream"] = true
            let (status, body) = try await server.post("v1/completions", streaming)
            #expect(status == 200)
            let events = serverSentEvents(body)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().map { object(Data($0.utf8)) }
            #expect(chunks.count >= 2)
            #expect(chunks.allSatisfy { $0["object"] as? String == "text_completion" && $0["usage"] == nil })
            #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
            let choices = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
            #expect(choices.map { $0["text"] as? String ?? "" }.joined() == wholeChoice?["text"] as? String)
            let reasons = choices.compactMap { $0["finish_reason"] as? String }
            #expect(reasons == [wholeChoice?["finish_reason"] as? String ?? "?"])
            #expect(choices.last?["finish_reason"] as? String != nil)
        }
    }

    @Test func streamedChatSendsRoleThenContentThenUsage() async throws {
        try await TestServer.with(try TestServer.generator()) { server in
            let request: [String: Any] = ["model": TestServer.modelName, "messages": [["role": "user", "content": "Tell me"]],
                                          "max_tokens": 20, "temperature": 0]
            let (_, whole) = try await server.post("v1/chat/completions", request)
            let wholeAnswer = object(whole)
            var streaming = request
            streaming["stream"] = true
            streaming["stream_options"] = ["include_usage": true]
            let (status, body) = try await server.post("v1/chat/completions", streaming)
            #expect(status == 200)
            let events = serverSentEvents(body)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().map { object(Data($0.utf8)) }
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            // every chunk carries usage: null but the last, which has no choices and the usage
            let usageChunk = try #require(chunks.last)
            #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
            #expect(usageChunk["usage"] as? [String: Int] == wholeAnswer["usage"] as? [String: Int])
            #expect(chunks.dropLast().allSatisfy { $0["usage"] is NSNull })
            let deltas = chunks.dropLast().compactMap { (($0["choices"] as? [[String: Any]])?.first) }
            #expect((deltas.first?["delta"] as? [String: Any])?["role"] as? String == "assistant")
            let content = deltas.compactMap { ($0["delta"] as? [String: Any])?["content"] as? String }.joined()
            let wholeChoice = (wholeAnswer["choices"] as? [[String: Any]])?.first
            #expect(content == (wholeChoice?["message"] as? [String: Any])?["content"] as? String)
            #expect(deltas.last?["finish_reason"] as? String == wholeChoice?["finish_reason"] as? String)
            #expect(deltas.dropLast().allSatisfy { $0["finish_reason"] is NSNull })
        }
    }
}
