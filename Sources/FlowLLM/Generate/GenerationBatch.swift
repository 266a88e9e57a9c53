/// Tokens appended to one session in a forward pass: a prompt (or a chunk of one), or one decoded token.
public struct GenerationSegment {
    /// The session the tokens extend.
    public let session: GenerationSession
    /// The tokens, appended at the session's next positions.
    public let tokens: ArraySlice<Int32>

    /// `tokens` appended to `session`.
    public init(session: GenerationSession, tokens: ArraySlice<Int32>) {
        self.session = session
        self.tokens = tokens
    }
}

/// Advances several sessions over one model in a single forward pass: every projection reads its weights once for
/// all the pass's rows (matrix–matrix products instead of one matrix–vector product per session), while each row
/// attends to its own session's cache. Decoding is memory-bound, so a pass over eight sessions costs little more
/// than a pass over one. Products over several rows sum in a different order than one row alone, so a session's
/// logits may differ from a lone pass's in the last bits.
public final class GenerationBatch {
    /// The model every session in a pass runs.
    public let model: GenerationModel
    private let scratch: GenerationScratch

    /// A batch over `model`.
    public init(model: GenerationModel) {
        self.model = model
        scratch = GenerationScratch(model: model)
    }

    /// Appends each segment's tokens to its session in one pass; afterwards each session's `logits` scores its next
    /// token. The sessions must be distinct and run this batch's model.
    public func append(_ segments: [GenerationSegment]) throws {
        guard !segments.isEmpty else { return }
        for (i, segment) in segments.enumerated() {
            guard segment.session.model === model else {
                throw GenerationError("batch segment \(i): the session runs a different model than the batch")
            }
            for earlier in segments[..<i] where earlier.session === segment.session {
                throw GenerationError("batch segment \(i): its session appears twice in one pass; join its tokens into one segment")
            }
            try segment.session.checkAppending(segment.tokens)
        }
        model.threads.withSingleThreadedBLAS { model.forward(segments, scratch: scratch) }
    }
}
