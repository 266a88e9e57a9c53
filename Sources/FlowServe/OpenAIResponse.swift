import FlowLLM
import Foundation

/// `usage`: token counts of one request.
struct Usage: Encodable {
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

/// A `text_completion` object: the whole answer, or (streaming) one chunk of it; `usage` is encoded as null when
/// absent only where OpenAI sends null (`usageNull`).
struct CompletionObject: Encodable {
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
    var usageNull = false

    struct Choice: Encodable {
        var text: String
        var index = 0
        var finishReason: String?

        enum CodingKeys: String, CodingKey { case text, index, logprobs, finishReason = "finish_reason" }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(text, forKey: .text)
            try c.encode(index, forKey: .index)
            try c.encodeNil(forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
    }

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

/// A `chat.completion` object (the whole answer) or a `chat.completion.chunk` (one streamed piece).
struct ChatCompletionObject: Encodable {
    var id: String
    var object: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
    var usageNull = false

    /// A choice: `message` in a whole answer, `delta` in a chunk.
    struct Choice: Encodable {
        var message: Message?
        var delta: Message?
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
    struct Message: Encodable {
        var role: String?
        var content: String?
    }

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
