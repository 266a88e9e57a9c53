import Foundation

/// One request's generation, advanced a token at a time by whoever runs the model: feed the prompt to `session`
/// (`prefill()`, or in chunks through a `GenerationBatch`), then alternate `sampleNext()` with appending the
/// sampled token, until `finishReason` is set. Sampling, EOS, stop sequences, `maxTokens` and incremental
/// detokenizing live here, so `TextGenerator.generate` and a scheduler interleaving many requests behave alike.
public final class GenerationStream {
    /// The prompt's token ids.
    public let promptIDs: [Int32]
    /// How this request generates.
    public let options: GenerationOptions
    /// The cache the prompt and generated tokens go into (capacity: prompt plus `maxTokens`).
    public let session: GenerationSession
    /// The generated text so far (never any part of a stop sequence).
    public private(set) var text = ""
    /// Every generated token id so far.
    public private(set) var tokenIDs: [Int32] = []
    /// Why generation ended; nil while it goes on.
    public private(set) var finishReason: GenerationFinishReason?

    private var sampler: TokenSampler
    private var detokenizer: IncrementalDetokenizer
    private var matcher: StopSequenceMatcher
    private let endIDs: [Int32]
    private let startedAt: UInt64
    private var firstTokenAt: UInt64
    private var endedAt: UInt64

    /// A generation of `promptIDs` with `generator`'s model and tokenizer; the clock for time-to-first-token starts
    /// at `startedAt` (uptime nanoseconds; by default now). Throws for invalid options, or an empty prompt or one
    /// with ids outside the vocabulary.
    public init(generator: TextGenerator, promptIDs: [Int32], options: GenerationOptions,
                startedAt: UInt64 = DispatchTime.now().uptimeNanoseconds) throws {
        try Self.check(promptIDs: promptIDs, options: options, vocabSize: generator.model.config.vocabSize)
        self.promptIDs = promptIDs
        self.options = options
        session = GenerationSession(model: generator.model, capacity: promptIDs.count + options.maxTokens)
        sampler = TokenSampler(options: options)
        detokenizer = IncrementalDetokenizer(tokenizer: generator.tokenizer)
        matcher = StopSequenceMatcher(stops: options.stop)
        endIDs = generator.eosTokenIDs + options.stopTokenIDs
        self.startedAt = startedAt
        firstTokenAt = startedAt
        endedAt = startedAt
        tokenIDs.reserveCapacity(options.maxTokens)
        if options.maxTokens == 0 { finish(.length) }
    }

    /// Throws for invalid options, or an empty prompt or one with ids outside the vocabulary: what every generation
    /// (a stream, a beam search) checks before it starts.
    static func check(promptIDs: [Int32], options: GenerationOptions, vocabSize vocab: Int) throws {
        try options.validate()
        guard !promptIDs.isEmpty else {
            throw GenerationError("the prompt encodes to no tokens; give a non-empty prompt or set addSpecialTokens to add BOS")
        }
        if let bad = promptIDs.firstIndex(where: { $0 < 0 || Int($0) >= vocab }) {
            throw GenerationError("prompt token id \(promptIDs[bad]) at position \(bad) is outside the vocabulary (vocab_size \(vocab)); does the tokenizer match the model?")
        }
    }

    /// Runs the whole prompt through the model in one batched pass.
    public func prefill() throws { try session.append(promptIDs) }

    /// Samples the next token from `session.logits` (the prompt, and every token sampled so far, must be in the
    /// session) and returns it with the text it releases; sets `finishReason` when it ends the generation
    /// (EOS, a stop sequence, `maxTokens`). The caller appends the token to the session before sampling again.
    public func sampleNext() -> GeneratedToken {
        precondition(finishReason == nil, "sampleNext() after the generation finished")
        let id = sampler.next(session.logits.data, count: session.model.config.vocabSize)
        if tokenIDs.isEmpty { firstTokenAt = DispatchTime.now().uptimeNanoseconds }
        tokenIDs.append(id)
        var released = "", reason: GenerationFinishReason?
        if endIDs.contains(id) {
            reason = .eos
        } else {
            switch matcher.append(detokenizer.append(id)) {
            case .release(let piece): released = piece
            case .stopped(let piece): released = piece; reason = .stop
            }
        }
        if reason == nil && tokenIDs.count == options.maxTokens { reason = .length }
        if let reason, reason != .stop {
            // Ending for another reason: release what was held back for a possible stop or character.
            switch matcher.append(detokenizer.flush()) {
            case .release(let piece): released += piece + matcher.flush()
            case .stopped(let piece): released += piece
            }
        }
        text += released
        if let reason { finish(reason) }
        return GeneratedToken(id: id, text: released, index: tokenIDs.count - 1)
    }

    /// Ends the generation early (finish reason `.cancelled`) unless it already ended.
    public func cancel() {
        if finishReason == nil { finish(.cancelled) }
    }

    /// The result so far; final once `finishReason` is set.
    public var generation: Generation {
        let end = finishReason == nil ? DispatchTime.now().uptimeNanoseconds : endedAt
        let decodeSeconds = tokenIDs.isEmpty ? 0 : Double(end - firstTokenAt) / 1e9
        return Generation(
            text: text, tokenIDs: tokenIDs, finishReason: finishReason ?? .length, promptTokens: promptIDs.count,
            completionTokens: tokenIDs.count,
            timings: GenerationTimings(
                timeToFirstToken: tokenIDs.isEmpty ? 0 : Double(firstTokenAt - startedAt) / 1e9, decodeSeconds: decodeSeconds,
                decodeTokensPerSecond: tokenIDs.count > 1 && decodeSeconds > 0 ? Double(tokenIDs.count - 1) / decodeSeconds : 0))
    }

    private func finish(_ reason: GenerationFinishReason) {
        finishReason = reason
        endedAt = DispatchTime.now().uptimeNanoseconds
    }
}
