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

    /// Generates a continuation of `prompt` (encoded with `options.addSpecialTokens`); with `options.numBeams` > 1 by
    /// beam search (`BeamSearch`).
    /// - Parameter onToken: called after every generated token with the text it releases; return false to stop
    ///   (finish reason `.cancelled`). Released text never includes any part of a stop sequence. A beam search
    ///   knows its tokens only at the end: they are reported then, the whole text with the last one; returning false
    ///   before the last cuts the result after that token.
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
        if options.numBeams > 1 {
            // The best sequence is known only when the search ends: its tokens are reported then, its text with the last.
            var result = try BeamSearch(generator: self, promptIDs: promptIDs, options: options).run(startedAt: start)
            for (index, id) in result.tokenIDs.enumerated() {
                let last = index == result.tokenIDs.count - 1
                guard let onToken, !onToken(GeneratedToken(id: id, text: last ? result.text : "", index: index)) else { continue }
                if !last {  // stopped before the end: the result ends where the reports did
                    result.tokenIDs = Array(result.tokenIDs.prefix(index + 1))
                    result.text = tokenizer.decode(result.tokenIDs, skipSpecialTokens: true)
                    result.completionTokens = result.tokenIDs.count
                    result.finishReason = .cancelled
                }
                break
            }
            return result
        }
        let stream = try GenerationStream(generator: self, promptIDs: promptIDs, options: options, startedAt: start)
        guard stream.finishReason == nil else { return stream.generation }
        try stream.prefill()  // one batched pass over the prompt
        while true {
            let token = stream.sampleNext()
            if let onToken, !onToken(token) { stream.cancel() }
            if stream.finishReason != nil { return stream.generation }
            try stream.session.append(token: token.id)
        }
    }
}
