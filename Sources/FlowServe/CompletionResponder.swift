import FlowLLM
import Foundation
import Hummingbird

/// Answers one planned request from the scheduler's events: a whole JSON object, or server-sent events in
/// OpenAI's chunk shapes ending with `data: [DONE]`. A client that goes away cancels its generation (at the
/// scheduler's next pass).
struct CompletionResponder: Sendable {
    /// Which endpoint's shapes to answer in.
    enum Kind: Sendable {
        case completion, chat
    }

    let kind: Kind
    let model: ServedModel
    let scheduler: GenerationScheduler

    func respond(to plan: GenerationPlan) async throws -> Response {
        let generation: ScheduledGeneration
        do {
            generation = try scheduler.submit(promptIDs: plan.promptIDs, options: plan.options)
        } catch let error as GenerationError {
            throw OpenAIError(status: .serviceUnavailable, message: error.message, type: "server_error")
        }
        let answer = Answer(kind: kind, id: Self.newID(kind), created: Int(Date().timeIntervalSince1970), model: model.name)
        guard plan.stream else {
            defer { generation.cancel() }  // ends it when this task is cancelled; nothing once it finished
            for await event in generation.events {
                switch event {
                case .token: continue
                case .finished(let generation): return try Self.json(answer.whole(generation))
                case .failed(let error): throw OpenAIError(status: .internalServerError, message: error.message, type: "server_error")
                }
            }
            throw CancellationError()  // the request's task was cancelled before the generation ended
        }
        let includeUsage = plan.includeUsage
        let body = ResponseBody { writer in
            // a failed write (the client went away) leaves the loop: the generation ends at the next pass
            defer { generation.cancel() }
            if let opening = answer.opening(includeUsage: includeUsage) { try await writer.write(Self.event(opening)) }
            for await event in generation.events {
                switch event {
                case .token(let token) where token.text.isEmpty:
                    // nothing to show yet (held back for a possible stop or character): an SSE comment, which
                    // clients ignore, keeps writing so that a client gone away is noticed
                    try await writer.write(ByteBuffer(string: ":\n\n"))
                case .token(let token):
                    try await writer.write(Self.event(answer.piece(token.text, includeUsage: includeUsage)))
                case .finished(let generation):
                    try await writer.write(Self.event(answer.closing(generation.finishReason, includeUsage: includeUsage)))
                    if includeUsage { try await writer.write(Self.event(answer.usage(generation))) }
                case .failed(let error):
                    let failure = OpenAIError(status: .internalServerError, message: error.message, type: "server_error")
                    try await writer.write(ByteBuffer(bytes: Data("data: ".utf8) + failure.body + Data("\n\n".utf8)))
                }
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    static func json(_ value: some Encodable) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    private static func event(_ value: some Encodable) throws -> ByteBuffer {
        ByteBuffer(bytes: Data("data: ".utf8) + (try encoder.encode(value)) + Data("\n\n".utf8))
    }

    /// Keys in a stable order, so answers read (and diff) the same every time.
    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    private static func newID(_ kind: Kind) -> String {
        let hex = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return (kind == .chat ? "chatcmpl-" : "cmpl-") + hex
    }
}

/// The objects of one answer, all with the same id, creation time and model.
private struct Answer: Sendable {
    let kind: CompletionResponder.Kind
    let id: String
    let created: Int
    let model: String

    func whole(_ generation: Generation) -> any Encodable {
        let reason = generation.finishReason.openAI
        switch kind {
        case .completion:
            return object("text_completion", [TextChoice(text: generation.text, finishReason: reason)], usage: Usage(generation))
        case .chat:
            let message = ChatMessage(role: "assistant", content: generation.text)
            return object("chat.completion", [ChatChoice(message: message, finishReason: reason)], usage: Usage(generation))
        }
    }

    /// The chat stream's first chunk, which names the role; completions have none.
    func opening(includeUsage: Bool) -> (any Encodable)? {
        guard kind == .chat else { return nil }
        return chunk(delta: ChatMessage(role: "assistant", content: ""), text: "", reason: nil, includeUsage: includeUsage)
    }

    func piece(_ text: String, includeUsage: Bool) -> any Encodable {
        chunk(delta: ChatMessage(content: text), text: text, reason: nil, includeUsage: includeUsage)
    }

    func closing(_ reason: GenerationFinishReason, includeUsage: Bool) -> any Encodable {
        chunk(delta: ChatMessage(), text: "", reason: reason.openAI, includeUsage: includeUsage)
    }

    /// The extra chunk `stream_options.include_usage` asks for: no choices, the usage.
    func usage(_ generation: Generation) -> any Encodable {
        switch kind {
        case .completion: object("text_completion", [TextChoice](), usage: Usage(generation))
        case .chat: object("chat.completion.chunk", [ChatChoice](), usage: Usage(generation))
        }
    }

    private func chunk(delta: ChatMessage, text: String, reason: String?, includeUsage: Bool) -> any Encodable {
        switch kind {
        case .completion:
            object("text_completion", [TextChoice(text: text, finishReason: reason)], usageNull: includeUsage)
        case .chat:
            object("chat.completion.chunk", [ChatChoice(delta: delta, finishReason: reason)], usageNull: includeUsage)
        }
    }

    private func object<Choice: Encodable>(_ name: String, _ choices: [Choice], usage: Usage? = nil,
                                           usageNull: Bool = false) -> CompletionObject<Choice> {
        CompletionObject(id: id, object: name, created: created, model: model, choices: choices, usage: usage, usageNull: usageNull)
    }
}
