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

    @Test func piecesKeepComingAfterAnInvalidByteChangesEarlierText() throws {
        let directory = try #require(Bundle.module.url(forResource: "llama2", withExtension: nil, subdirectory: "Fixtures/tokenizer"))
        let tokenizer = try Tokenizer(directory: directory)
        // "\n" as a byte token, then a lone UTF-8 lead byte: decoded together both become U+FFFD
        let bytes = try ["<0x0A>", "<0xEB>"].map { try #require(tokenizer.id(forToken: $0)) }
        let words = tokenizer.encode(" ault lops more words", addSpecialTokens: false)
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
        var pieces: [String] = []
        for id in words.prefix(2) + bytes + words.dropFirst(2) { pieces.append(detokenizer.append(id)) }
        pieces.append(detokenizer.flush())
        // the words after the bytes are released as they come, not held back to the end
        #expect(pieces.dropLast().suffix(3).joined().contains("words"), "\(pieces)")
        #expect(pieces.last == "")
    }
}
