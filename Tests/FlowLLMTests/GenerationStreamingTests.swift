import Foundation
import Testing
@testable import FlowLLM

/// Streaming text token by token joins to exactly the tokenizer's decoding of all the tokens.
@Suite struct GenerationStreamingTests {
    @Test(arguments: ["llama2", "gpt2", "metaspace"])
    func piecesJoinToTheFullDecoding(tokenizerName: String) throws {
        let directory = try #require(Bundle.module.url(forResource: tokenizerName, withExtension: nil,
                                                       subdirectory: "Fixtures/tokenizer"))
        let tokenizer = try Tokenizer(directory: directory)
        for text in ["The quick brown fox", "héllo wörld 😀 ünïcode ✓", "  leading spaces\nand\tlines  "] {
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
            var streamed = ""
            for id in ids {
                let piece = detokenizer.append(id)
                #expect(!piece.contains("\u{FFFD}") || tokenizer.decode(ids).contains("\u{FFFD}"))
                streamed += piece
            }
            streamed += detokenizer.flush()
            #expect(streamed == tokenizer.decode(ids, skipSpecialTokens: true), "\(tokenizerName): \(text)")
        }
    }
}
