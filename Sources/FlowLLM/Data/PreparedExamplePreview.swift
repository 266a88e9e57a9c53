/// One line of `preview.jsonl`: an example's text, trained and masked spans told apart.
public struct PreparedExamplePreview: Codable, Sendable, Equatable {
    /// A run of tokens that are all trained or all masked, decoded.
    public struct Segment: Codable, Sendable, Equatable {
        public var text: String
        public var trained: Bool
    }

    public var line: Int
    public var tokens: Int
    public var trainedTokens: Int
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
