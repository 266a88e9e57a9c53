/// One line of `preview.jsonl`: an example's text, trained and masked spans told apart.
public struct PreparedExamplePreview: Codable, Sendable, Equatable {
    /// A run of tokens that are all trained or all masked, decoded.
    public struct Segment: Codable, Sendable, Equatable {
        /// The decoded text, special tokens kept.
        public var text: String
        /// Whether the loss sees these tokens.
        public var trained: Bool
    }

    /// The dataset line of the example.
    public var line: Int
    /// Its token count.
    public var tokens: Int
    /// How many of its tokens are trained.
    public var trainedTokens: Int
    /// Its text in trained and masked runs.
    public var segments: [Segment]

    /// The preview of `example`, decoding spans with special tokens kept.
    public init(_ example: TokenizedExample, tokenizer: any PromptTokenizer) {
        line = example.sourceLine
        tokens = example.inputIDs.count
        trainedTokens = example.trainedTokenCount
        segments = []
        var start = 0
        while start < example.inputIDs.count {
            let trained = example.labels[start] != TokenizedExample.ignoredLabel
            var end = start + 1
            while end < example.inputIDs.count, (example.labels[end] != TokenizedExample.ignoredLabel) == trained { end += 1 }
            segments.append(Segment(text: tokenizer.decode(Array(example.inputIDs[start..<end]), skipSpecialTokens: false), trained: trained))
            start = end
        }
    }
}
