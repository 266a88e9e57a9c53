import Foundation
import Hummingbird

/// The fields `/v1/completions` and `/v1/chat/completions` share: the model, the length, sampling and streaming.
/// Every field is optional here; `GenerationPlan` applies OpenAI's defaults and ranges.
struct SamplingFields: Decodable {
    var model: String?
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var temperature: Double?
    var topP: Double?
    /// Not OpenAI's, but vLLM's and transformers': keep the k likeliest tokens.
    var topK: Int?
    var n: Int?
    var stream: Bool?
    var streamOptions: StreamOptions?
    var stop: StopField?
    var seed: Int64?
    var echo: Bool?
    var bestOf: Int?
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    /// True when `logprobs` asks for log probabilities (an integer above 0 for completions, true for chat).
    var wantsLogprobs = false

    struct StreamOptions: Decodable {
        var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    enum CodingKeys: String, CodingKey {
        case model, temperature, n, stream, stop, seed, echo, logprobs
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", topP = "top_p", topK = "top_k"
        case streamOptions = "stream_options", bestOf = "best_of", presencePenalty = "presence_penalty"
        case frequencyPenalty = "frequency_penalty"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        maxCompletionTokens = try c.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try c.decodeIfPresent(Double.self, forKey: .topP)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        n = try c.decodeIfPresent(Int.self, forKey: .n)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream)
        streamOptions = try c.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)
        stop = try c.decodeIfPresent(StopField.self, forKey: .stop)
        seed = try c.decodeIfPresent(Int64.self, forKey: .seed)
        echo = try c.decodeIfPresent(Bool.self, forKey: .echo)
        bestOf = try c.decodeIfPresent(Int.self, forKey: .bestOf)
        presencePenalty = try c.decodeIfPresent(Double.self, forKey: .presencePenalty)
        frequencyPenalty = try c.decodeIfPresent(Double.self, forKey: .frequencyPenalty)
        if try !c.contains(.logprobs) || c.decodeNil(forKey: .logprobs) {
            wantsLogprobs = false
        } else if let flag = try? c.decode(Bool.self, forKey: .logprobs) {
            wantsLogprobs = flag
        } else if let count = try? c.decode(Int.self, forKey: .logprobs) {
            wantsLogprobs = count > 0
        } else {
            throw DecodingError.typeMismatch(Int.self, .init(codingPath: c.codingPath + [CodingKeys.logprobs],
                                                              debugDescription: "expected an integer or a boolean"))
        }
    }
}

/// `stop`: a string or an array of strings.
struct StopField: Decodable {
    var values: [String]

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let one = try? c.decode(String.self) {
            values = [one]
        } else if let many = try? c.decode([String].self) {
            values = many
        } else {
            throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath,
                                                                 debugDescription: "expected a string or an array of strings"))
        }
    }
}

/// A `/v1/completions` request body.
struct CompletionRequest: Decodable {
    var sampling: SamplingFields
    var prompt: PromptField

    /// `prompt`: a string, an array of token ids, or an array holding exactly one of those.
    enum PromptField: Decodable {
        case text(String)
        case tokens([Int32])

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let text = try? c.decode(String.self) {
                self = .text(text)
            } else if let tokens = try? c.decode([Int32].self) {
                self = .tokens(tokens)
            } else if let texts = try? c.decode([String].self), texts.count == 1 {
                self = .text(texts[0])
            } else if let batches = try? c.decode([[Int32]].self), batches.count == 1 {
                self = .tokens(batches[0])
            } else {
                throw DecodingError.typeMismatch(String.self, .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "expected a string or an array of token ids (this server takes one prompt per request)"))
            }
        }
    }

    enum CodingKeys: String, CodingKey { case prompt }

    init(from decoder: any Decoder) throws {
        sampling = try SamplingFields(from: decoder)
        prompt = try decoder.container(keyedBy: CodingKeys.self).decode(PromptField.self, forKey: .prompt)
    }
}

/// A `/v1/chat/completions` request body.
struct ChatCompletionRequest: Decodable {
    var sampling: SamplingFields
    var messages: [Message]

    struct Message: Decodable {
        var role: String
        var content: String

        enum CodingKeys: String, CodingKey { case role, content }

        /// `content` is a string, or an array of `{"type": "text", "text": ...}` parts joined in order.
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            role = try c.decode(String.self, forKey: .role)
            if let text = try? c.decode(String.self, forKey: .content) {
                content = text
            } else if let parts = try? c.decode([Part].self, forKey: .content) {
                content = parts.map(\.text).joined()
            } else {
                throw DecodingError.typeMismatch(String.self, .init(
                    codingPath: c.codingPath + [CodingKeys.content],
                    debugDescription: "expected a string or an array of {\"type\": \"text\", \"text\": ...} parts"))
            }
        }
    }

    struct Part: Decodable {
        var type: String
        var text: String
    }

    enum CodingKeys: String, CodingKey { case messages }

    init(from decoder: any Decoder) throws {
        sampling = try SamplingFields(from: decoder)
        messages = try decoder.container(keyedBy: CodingKeys.self).decode([Message].self, forKey: .messages)
    }
}

extension OpenAIError {
    /// A request body decoded as `type`, or a 400 naming the field at fault.
    static func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer) throws -> T {
        let data = Data(buffer: body)
        guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else {
            throw OpenAIError.invalidRequest("We could not parse the JSON body of your request: it is not valid JSON. Send a JSON object with Content-Type: application/json.")
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw OpenAIError(decoding: error)
        }
    }

    /// The 400 for a field that is missing or of the wrong type.
    init(decoding error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context):
            let path = Self.path(context.codingPath + [key])
            self = .invalidRequest("Missing required parameter: '\(path)'.", param: path, code: "missing_required_parameter")
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            guard !context.codingPath.isEmpty else {
                self = .invalidRequest("The request body must be a JSON object.")
                return
            }
            let path = Self.path(context.codingPath)
            self = .invalidRequest("Invalid type for '\(path)': \(context.debugDescription)", param: path, code: "invalid_type")
        @unknown default:
            self = .invalidRequest("\(error)")
        }
    }

    /// `messages[0].content`-style names for a coding path.
    private static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let index = key.intValue { out += "[\(index)]" } else { out += out.isEmpty ? key.stringValue : "." + key.stringValue }
        }
        return out
    }
}
