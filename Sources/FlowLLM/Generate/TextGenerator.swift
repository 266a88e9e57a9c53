import Foundation

/// Generates text from a Llama model: tokenizes the prompt, prefills it in one batched pass, then decodes
/// token by token with a KV cache, sampling, stop sequences and EOS. Owns read-only weights (and an optional
/// adapter applied on the fly) and the tokenizer, so concurrent `generate` calls are safe: each gets its own
/// `GenerationSession`.
public final class TextGenerator: Sendable {
    /// The model, shared by every request.
    public let model: GenerationModel
    /// The tokenizer prompts are encoded and outputs decoded with.
    public let tokenizer: Tokenizer
    /// Token ids that end generation with `.eos`: the tokenizer's EOS and the config's `eos_token_id`.
    public let eosTokenIDs: [Int32]

    /// A generator over an existing model and tokenizer.
    public init(model: GenerationModel, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
        var eos: [Int32] = []
        if let id = tokenizer.eosTokenID { eos.append(id) }
        if let id = model.config.eosTokenID, !eos.contains(Int32(id)) { eos.append(Int32(id)) }
        eosTokenIDs = eos
    }

    /// Loads a checkpoint directory (merged, or the base for `adapter`), a PEFT adapter directory applied
    /// without merging, and the tokenizer (`tokenizer.json` in `tokenizer`, by default the model directory).
    public convenience init(model: URL, adapter: URL? = nil, tokenizer: URL? = nil,
                            threads: ComputeThreads = .fromEnvironment, precision: GenerationWeightPrecision = .float32) throws {
        let generationModel = try GenerationModel(model: model, adapter: adapter, threads: threads, precision: precision)
        let tokenizer = try Tokenizer(directory: tokenizer ?? model)
        guard tokenizer.vocabularySize <= generationModel.config.vocabSize else {
            throw GenerationError("\(model.path): the tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocab_size is \(generationModel.config.vocabSize); use the tokenizer the model was trained with")
        }
        self.init(model: generationModel, tokenizer: tokenizer)
    }

    /// Generates a continuation of `prompt` (encoded with `options.addSpecialTokens`).
    /// - Parameter onToken: called after every generated token with the text it releases; return false to stop
    ///   (finish reason `.cancelled`). Released text never includes any part of a stop sequence.
    public func generate(prompt: String, options: GenerationOptions,
                         onToken: ((GeneratedToken) -> Bool)? = nil) throws -> Generation {
        let start = DispatchTime.now().uptimeNanoseconds
        let ids = tokenizer.encode(prompt, addSpecialTokens: options.addSpecialTokens)
        return try generate(promptIDs: ids, options: options, startedAt: start, onToken: onToken)
    }

    /// Generates a continuation of the token ids `promptIDs`.
    public func generate(promptIDs: [Int32], options: GenerationOptions,
                         onToken: ((GeneratedToken) -> Bool)? = nil) throws -> Generation {
        try generate(promptIDs: promptIDs, options: options, startedAt: DispatchTime.now().uptimeNanoseconds, onToken: onToken)
    }

    private func generate(promptIDs: [Int32], options: GenerationOptions, startedAt start: UInt64,
                          onToken: ((GeneratedToken) -> Bool)?) throws -> Generation {
        try options.validate()
        guard !promptIDs.isEmpty else {
            throw GenerationError("the prompt encodes to no tokens; give a non-empty prompt or set addSpecialTokens to add BOS")
        }
        var result = Generation(text: "", tokenIDs: [], finishReason: .length, promptTokens: promptIDs.count,
                                completionTokens: 0,
                                timings: GenerationTimings(timeToFirstToken: 0, decodeSeconds: 0, decodeTokensPerSecond: 0))
        guard options.maxTokens > 0 else { return result }
        let session = GenerationSession(model: model, capacity: promptIDs.count + options.maxTokens)
        var sampler = TokenSampler(options: options)
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
        var matcher = StopSequenceMatcher(stops: options.stop)
        let endIDs = eosTokenIDs + options.stopTokenIDs
        var text = "", firstTokenAt = start
        try session.append(promptIDs)  // the prefill: one batched pass over the prompt
        result.tokenIDs.reserveCapacity(options.maxTokens)

        loop: while true {
            let id = sampler.next(session.logits.data, count: model.config.vocabSize)
            if result.tokenIDs.isEmpty { firstTokenAt = DispatchTime.now().uptimeNanoseconds }
            result.tokenIDs.append(id)
            var released = "", reason: GenerationFinishReason?
            if endIDs.contains(id) {
                reason = .eos
            } else {
                switch matcher.append(detokenizer.append(id)) {
                case .release(let piece): released = piece
                case .stopped(let piece): released = piece; reason = .stop
                }
            }
            if reason == nil && result.tokenIDs.count == options.maxTokens { reason = .length }
            if let reason, reason != .stop {
                // Ending for another reason: release what was held back for a possible stop or character.
                switch matcher.append(detokenizer.flush()) {
                case .release(let piece): released += piece + matcher.flush()
                case .stopped(let piece): released += piece
                }
            }
            text += released
            let index = result.tokenIDs.count - 1
            if let onToken, !onToken(GeneratedToken(id: id, text: released, index: index)), reason == nil {
                reason = .cancelled
            }
            if let reason {
                result.finishReason = reason
                break loop
            }
            try session.append(token: id)
        }
        let end = DispatchTime.now().uptimeNanoseconds
        result.text = text
        result.completionTokens = result.tokenIDs.count
        let decodeSeconds = Double(end - firstTokenAt) / 1e9
        result.timings = GenerationTimings(
            timeToFirstToken: Double(firstTokenAt - start) / 1e9, decodeSeconds: decodeSeconds,
            decodeTokensPerSecond: result.tokenIDs.count > 1 && decodeSeconds > 0 ? Double(result.tokenIDs.count - 1) / decodeSeconds : 0)
        return result
    }
}
