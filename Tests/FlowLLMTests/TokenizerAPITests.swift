import Foundation
import Testing

@testable import FlowLLM

@Suite struct TokenizerAPITests {
    struct Additions: Decodable {
        struct Case: Decodable {
            var vocabularySize: Int
            var ids: [String: Int32]
            var probe: [String]
            var encoded: [[Int32]]
        }
        var added: [String]
        var addedSpecial: [String]
        var gpt2: Case
        var llama2: Case
    }

    /// Ids and encodings after adding tokens at run time match `add_tokens`/`add_special_tokens` in Python.
    @Test(arguments: ["gpt2", "llama2"])
    func addedTokensMatchPython(name: String) throws {
        let url = try TokenizerFixtures.directory().appendingPathComponent("additions.json")
        let additions = try JSONDecoder().decode(Additions.self, from: Data(contentsOf: url))
        let expected = name == "gpt2" ? additions.gpt2 : additions.llama2
        let base = try Tokenizer(directory: TokenizerFixtures.directory(name))
        let extended = base.addingTokens(additions.added, special: false).addingTokens(
            additions.addedSpecial, special: true)
        #expect(extended.vocabularySize == expected.vocabularySize)
        for (token, id) in expected.ids { #expect(extended.id(forToken: token) == id, "\(token)") }
        for (text, ids) in zip(expected.probe, expected.encoded) {
            #expect(extended.encode(text) == ids, "\(text.debugDescription)")
        }
        #expect(extended.contentDigest != base.contentDigest)
        #expect(base.id(forToken: "<new_token>") == nil, "adding returns a copy and leaves the original alone")

        // Written and read back, the additions survive.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-tok-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try extended.write(to: directory)
        let reloaded = try Tokenizer(directory: directory)
        for (text, ids) in zip(expected.probe, expected.encoded) { #expect(reloaded.encode(text) == ids) }
        #expect(reloaded.vocabularySize == expected.vocabularySize)
    }

    /// The shared word cache must not mix up results when several tasks encode at once.
    @Test func concurrentEncodesAgreeWithPython() async throws {
        let strings = Array(try TokenizerFixtures.strings().prefix(400))
        let expected = Array(try TokenizerFixtures.expected("gpt2").ids.prefix(400))
        let tokenizer = try Tokenizer(directory: TokenizerFixtures.directory("gpt2"))
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for task in 0..<4 {
                group.addTask {
                    // Each task walks the strings in a different order so cache fills interleave.
                    let order = task % 2 == 0 ? Array(strings.indices) : strings.indices.reversed()
                    return order.filter { tokenizer.encode(strings[$0]) != expected[$0] }.count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test func readsSpecialTokensAndChatTemplateFromConfig() throws {
        let tokenizer = try Tokenizer(directory: TokenizerFixtures.directory("llama2"))
        #expect(tokenizer.bosToken == "<s>" && tokenizer.bosTokenID == 1)
        #expect(tokenizer.eosToken == "</s>" && tokenizer.eosTokenID == 2)
        #expect(tokenizer.padTokenID == nil)
        #expect(tokenizer.chatTemplate?.hasPrefix("{% for m in messages %}") == true)
        #expect(tokenizer.tokenPieces(tokenizer.encode("hello")) == ["<s>", "▁h", "el", "lo"])
        #expect(tokenizer.id(forToken: "<0x41>") == 68)
    }

    @Test func withSpecialTokensSetsAndAddsThem() throws {
        let tokenizer = try Tokenizer(directory: TokenizerFixtures.directory("llama3"))
        #expect(tokenizer.padTokenID == nil)
        let updated = tokenizer.withSpecialTokens(bos: nil, eos: "<|eot|>", pad: "<|end_of_text|>", unk: nil)
        #expect(updated.eosToken == "<|eot|>" && updated.eosTokenID == Int32(tokenizer.vocabularySize))
        #expect(updated.padTokenID == 1)
        #expect(updated.bosToken == "<|begin_of_text|>")
        #expect(updated.decode(updated.encode("a<|eot|>"), skipSpecialTokens: true) == "a")
    }

    @Test func contentDigestIsStableAndCoversContent() throws {
        let a = try Tokenizer(directory: TokenizerFixtures.directory("gpt2"))
        let b = try Tokenizer(directory: TokenizerFixtures.directory("gpt2"))
        let c = try Tokenizer(directory: TokenizerFixtures.directory("llama3"))
        #expect(a.contentDigest == b.contentDigest)
        #expect(a.contentDigest != c.contentDigest)
        #expect(a.contentDigest.count == 64)
        #expect(
            a.addingTokens(["x1"], special: false).contentDigest == b.addingTokens(["x1"], special: false).contentDigest
        )
        #expect(
            a.addingTokens(["x1"], special: false).contentDigest != a.addingTokens(["x1"], special: true).contentDigest)
    }

    /// SHA-256 test vectors (FIPS 180-2), since the digest must be a real SHA-256 to be a sound cache key.
    @Test func digestIsSHA256() {
        var empty = TokenizerDigest()
        empty.update([])
        #expect(empty.hexDigest() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var abc = TokenizerDigest()
        abc.update(Array("abc".utf8))
        #expect(abc.hexDigest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var long = TokenizerDigest()
        long.update(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        #expect(long.hexDigest() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
