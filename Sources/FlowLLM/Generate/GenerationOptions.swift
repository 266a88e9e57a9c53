import Foundation

/// How one request generates: length, sampling and stopping, with OpenAI's meanings.
public struct GenerationOptions: Sendable, Equatable {
    /// The most new tokens to generate (`max_tokens`); reaching it finishes with `.length`.
    public var maxTokens: Int
    /// Divides the logits before sampling; 0 means greedy (argmax), as does `topK == 1`.
    public var temperature: Float
    /// Keeps only the k most likely tokens (ties with the k-th kept, as transformers does); 0 turns it off.
    public var topK: Int
    /// Keeps the smallest set of most likely tokens whose probability reaches `topP` (nucleus); 1 turns it off.
    public var topP: Float
    /// Seeds the sampler: the same seed, prompt and options give the same tokens; nil draws a fresh seed.
    public var seed: UInt64?
    /// Generation stops as soon as the decoded text contains one of these; the text from the stop on is dropped.
    public var stop: [String]
    /// Token ids that end generation like EOS (`.eos`), besides the tokenizer's and the config's EOS.
    public var stopTokenIDs: [Int32]
    /// Whether encoding a text prompt adds the tokenizer's special tokens (BOS for Llama).
    public var addSpecialTokens: Bool
    /// Beams of a beam search (transformers' `num_beams`); 1 decodes one token at a time. A beam search returns the
    /// finished sequence with the best length-normalised log-probability; it needs greedy settings (no sampling).
    public var numBeams: Int
    /// Beam search only: a finished sequence scores sum(log p) / length^lengthPenalty (transformers'
    /// `length_penalty`, default 1); above 0 favours longer sequences, below 0 shorter ones.
    public var lengthPenalty: Float

    /// Beams a search may keep at most (each holds its own key/value cache).
    public static let maxBeams = 64

    /// Options; the defaults generate up to 16 tokens greedily.
    public init(maxTokens: Int = 16, temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64? = nil,
                stop: [String] = [], stopTokenIDs: [Int32] = [], addSpecialTokens: Bool = true, numBeams: Int = 1,
                lengthPenalty: Float = 1) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.stop = stop
        self.stopTokenIDs = stopTokenIDs
        self.addSpecialTokens = addSpecialTokens
        self.numBeams = numBeams
        self.lengthPenalty = lengthPenalty
    }

    /// True when every step takes the most likely token.
    public var isGreedy: Bool { temperature == 0 || topK == 1 }

    /// Checks the values a client could get wrong.
    public func validate() throws {
        guard maxTokens >= 0 else { throw GenerationError("max_tokens is \(maxTokens); it must be 0 or more") }
        guard temperature >= 0, temperature.isFinite else {
            throw GenerationError("temperature is \(temperature); it must be a finite number ≥ 0 (0 is greedy)")
        }
        guard topK >= 0 else { throw GenerationError("top_k is \(topK); it must be ≥ 0 (0 turns it off)") }
        guard topP > 0, topP <= 1 else { throw GenerationError("top_p is \(topP); it must be in (0, 1]") }
        if stop.contains(where: \.isEmpty) { throw GenerationError("stop contains an empty string; remove it") }
        guard (1...Self.maxBeams).contains(numBeams) else {
            throw GenerationError("num_beams is \(numBeams); it must be between 1 and \(Self.maxBeams) (1 turns beam search off)")
        }
        guard lengthPenalty.isFinite else { throw GenerationError("length_penalty is \(lengthPenalty); it must be a finite number") }
        if numBeams > 1 && !(isGreedy && topP == 1 && (topK == 0 || topK == 1)) {
            throw GenerationError("num_beams \(numBeams) with temperature \(temperature), top_k \(topK), top_p \(topP): beam search does not sample; set temperature 0 and leave top_k and top_p off")
        }
    }
}

/// Why generation ended (OpenAI's `finish_reason`; `.eos` is reported as "stop" there).
public enum GenerationFinishReason: String, Sendable, Equatable {
    /// The text reached a stop sequence.
    case stop
    /// `maxTokens` tokens were generated.
    case length
    /// The model produced an end-of-sequence token.
    case eos
    /// The `onToken` callback asked to stop.
    case cancelled
}

/// One generated token, as a streaming callback sees it.
public struct GeneratedToken: Sendable, Equatable {
    /// The token id.
    public var id: Int32
    /// The text this token releases: possibly empty while a partial character or a possible stop
    /// sequence is held back, possibly several tokens' worth once it is released.
    public var text: String
    /// 0 for the first generated token.
    public var index: Int
}

/// Where the time of one generation went.
public struct GenerationTimings: Sendable, Equatable {
    /// Seconds from the call to the first sampled token (tokenizing, prefill, sampling).
    public var timeToFirstToken: Double
    /// Seconds spent generating the tokens after the first.
    public var decodeSeconds: Double
    /// Tokens after the first per second of decode time; 0 when fewer than two tokens were generated.
    public var decodeTokensPerSecond: Double
}

/// The result of one generation.
public struct Generation: Sendable, Equatable {
    /// The generated text, without the stop sequence or special tokens.
    public var text: String
    /// Every generated token id, including a final EOS or the token that completed a stop sequence.
    public var tokenIDs: [Int32]
    /// Why it ended.
    public var finishReason: GenerationFinishReason
    /// Tokens in the prompt.
    public var promptTokens: Int
    /// Tokens generated (`tokenIDs.count`).
    public var completionTokens: Int
    /// Time to first token and decode speed.
    public var timings: GenerationTimings
}
