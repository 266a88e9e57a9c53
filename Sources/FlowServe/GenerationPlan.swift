import FlowLLM

/// What one request asks the model for, checked against OpenAI's ranges and the model's context: the prompt's
/// token ids, the generation options and how to answer (streamed or not, with a usage chunk or not).
struct GenerationPlan: Sendable {
    var promptIDs: [Int32]
    var options: GenerationOptions
    var stream: Bool
    var includeUsage: Bool

    /// The plan for `fields` over `promptIDs`; `defaultMaxTokens` applies when the request gives none (OpenAI: 16
    /// for completions, the rest of the context for chat). `promptParam` names the prompt field in errors.
    init(_ fields: SamplingFields, promptIDs: [Int32], contextLength: Int, defaultMaxTokens: Int?,
         promptParam: String) throws {
        if let n = fields.n, n != 1 {
            throw OpenAIError.invalidRequest("n is \(n); this server generates one choice per request, so n must be 1 (send several requests for several choices).", param: "n", code: "unsupported_value")
        }
        if let bestOf = fields.bestOf, bestOf != 1 {
            throw OpenAIError.invalidRequest("best_of is \(bestOf); this server supports only best_of = 1.", param: "best_of", code: "unsupported_value")
        }
        if fields.echo == true {
            throw OpenAIError.invalidRequest("echo is not supported; the prompt is not repeated in the output.", param: "echo", code: "unsupported_value")
        }
        if fields.wantsLogprobs {
            throw OpenAIError.invalidRequest("logprobs are not supported by this server; leave logprobs unset.", param: "logprobs", code: "unsupported_value")
        }
        for (param, value) in [("presence_penalty", fields.presencePenalty), ("frequency_penalty", fields.frequencyPenalty)] {
            if let value, value != 0 {
                throw OpenAIError.invalidRequest("\(param) is \(value); this server supports only 0.", param: param, code: "unsupported_value")
            }
        }
        guard !promptIDs.isEmpty else {
            throw OpenAIError.invalidRequest("The prompt is empty; give at least one token of prompt.", param: promptParam)
        }
        guard promptIDs.count < contextLength else {
            throw OpenAIError.invalidRequest("This model's maximum context length is \(contextLength) tokens. However, your \(promptParam) resulted in \(promptIDs.count) tokens, leaving no room for a completion. Please reduce the length of the \(promptParam).", param: promptParam, code: "context_length_exceeded")
        }
        let maxParam = fields.maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens"
        let maxTokens = fields.maxCompletionTokens ?? fields.maxTokens ?? defaultMaxTokens ?? (contextLength - promptIDs.count)
        guard maxTokens >= 1 else {
            throw OpenAIError.invalidRequest("Invalid '\(maxParam)': integer below minimum value. Expected a value >= 1, but got \(maxTokens) instead.", param: maxParam, code: "integer_below_min_value")
        }
        guard promptIDs.count + maxTokens <= contextLength else {
            throw OpenAIError.invalidRequest("This model's maximum context length is \(contextLength) tokens. However, you requested \(promptIDs.count + maxTokens) tokens (\(promptIDs.count) in the \(promptParam), \(maxTokens) in the completion). Please reduce the length of the \(promptParam) or completion.", param: maxParam, code: "context_length_exceeded")
        }
        let temperature = fields.temperature ?? 1
        guard temperature.isFinite, temperature >= 0, temperature <= 2 else {
            throw OpenAIError.invalidRequest("Invalid 'temperature': expected a value between 0 and 2, but got \(temperature) instead.", param: "temperature", code: "invalid_value")
        }
        let topP = fields.topP ?? 1
        guard topP.isFinite, topP >= 0, topP <= 1 else {
            throw OpenAIError.invalidRequest("Invalid 'top_p': expected a value between 0 and 1, but got \(topP) instead.", param: "top_p", code: "invalid_value")
        }
        let topK = fields.topK ?? 0
        guard topK >= 0 else {
            throw OpenAIError.invalidRequest("Invalid 'top_k': expected a value >= 0 (0 turns it off), but got \(topK) instead.", param: "top_k", code: "invalid_value")
        }
        let stops = fields.stop?.values ?? []
        if stops.contains(where: \.isEmpty) {
            throw OpenAIError.invalidRequest("Invalid 'stop': a stop sequence is empty; remove it.", param: "stop", code: "invalid_value")
        }
        if fields.streamOptions != nil && fields.stream != true {
            throw OpenAIError.invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", param: "stream_options", code: "invalid_value")
        }
        self.promptIDs = promptIDs
        // top_p 0 keeps only the likeliest token: greedy.
        options = GenerationOptions(maxTokens: maxTokens, temperature: Float(temperature), topK: topP == 0 ? 1 : topK,
                                    topP: topP == 0 ? 1 : Float(topP), seed: fields.seed.map { UInt64(bitPattern: $0) },
                                    stop: stops, addSpecialTokens: false)
        stream = fields.stream ?? false
        includeUsage = fields.streamOptions?.includeUsage ?? false
    }
}
