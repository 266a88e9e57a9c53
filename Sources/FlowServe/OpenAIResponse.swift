import FlowLLM
import Foundation

/// `usage`: token counts of one request.
struct Usage: Encodable, Equatable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int

    init(_ generation: Generation) {
        promptTokens = generation.promptTokens
        completionTokens = generation.completionTokens
        totalTokens = generation.promptTokens + generation.completionTokens
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
    }
}

/// A completion object as OpenAI sends it: `text_completion` (whole or streamed: the same shape),
/// `chat.completion` or `chat.completion.chunk`. `usage` is left out when nil, except that with
/// `stream_options.include_usage` every chunk before the usage chunk carries `"usage": null` (`usageNull`).
struct CompletionObject<Choice: Encodable>: Encodable {
    var id: String
    var object: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
    var usageNull = false

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(object, forKey: .object)
        try c.encode(created, forKey: .created)
        try c.encode(model, forKey: .model)
        try c.encode(choices, forKey: .choices)
        if let usage { try c.encode(usage, forKey: .usage) } else if usageNull { try c.encodeNil(forKey: .usage) }
    }
}

/// A `text_completion` choice; `logprobs` and an open `finish_reason` are sent as null.
struct TextChoice: Encodable {
    var text: String
    var finishReason: String?

    enum CodingKeys: String, CodingKey { case text, index, logprobs, finishReason = "finish_reason" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(text, forKey: .text)
        try c.encode(0, forKey: .index)
        try c.encodeNil(forKey: .logprobs)
        try c.encode(finishReason, forKey: .finishReason)
    }
}

/// A chat choice: `message` in a whole answer, `delta` in a chunk.
struct ChatChoice: Encodable {
    var message: ChatMessage?
    var delta: ChatMessage?
    var finishReason: String?

    enum CodingKeys: String, CodingKey { case index, message, delta, logprobs, finishReason = "finish_reason" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(0, forKey: .index)
        if let message { try c.encode(message, forKey: .message) }
        if let delta { try c.encode(delta, forKey: .delta) }
        try c.encodeNil(forKey: .logprobs)
        try c.encode(finishReason, forKey: .finishReason)
    }
}

/// A message or a delta: the role (whole answers and the first chunk) and the content (absent in the last chunk).
struct ChatMessage: Encodable {
    var role: String?
    var content: String?
}

/// `GET /v1/models`.
struct ModelList: Encodable {
    var object = "list"
    var data: [Model]

    struct Model: Encodable {
        var id: String
        var object = "model"
        var created: Int
        var ownedBy = "flow"

        enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by" }
    }
}

extension GenerationFinishReason {
    /// OpenAI's `finish_reason`: EOS and stop sequences are both "stop".
    var openAI: String {
        switch self {
        case .length: "length"
        case .stop, .eos, .cancelled: "stop"
        }
    }
}
