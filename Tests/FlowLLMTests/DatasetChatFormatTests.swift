import Foundation
import Testing
import FlowLLM

// Renderings written out by hand from Axolotl's Jinja templates (chatml, llama2, llama3, mistral_v1, alpaca).

private func chatExample(_ yaml: String, fixtureLine: Int = 0, tokenizer: DatasetTestTokenizer) throws -> TokenizedExample {
    let rows = try JSONLDatasetReader.read(DataTests.fixture("chat.jsonl"))
    return try #require(try DataTests.strategy(yaml, tokenizer: tokenizer).tokenize(rows[fixtureLine]).first)
}

private let chatml = "datasets:\n  - path: x.jsonl\n    type: chat_template\n    chat_template: chatml\n"

@Test func chatmlMultiTurnWithSystemTrainsAssistantContentAndItsEOS() throws {
    let tok = DatasetTestTokenizer(eos: "<|im_end|>")
    let e = try chatExample(chatml, tokenizer: tok)
    #expect(tok.decode(e.inputIDs, skipSpecialTokens: false) == "<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\nCiao<|im_end|>\n")
    #expect(DataTests.trainedTexts(e, tok) == ["Hello!<|im_end|>", "Ciao<|im_end|>"])
    #expect(e.trainedTokenCount == 6 + 1 + 4 + 1)
}

@Test func chatEOSIsOnlyTrainedWhenItIsTheTokenizersEOS() throws {
    // With EOS </s>, chatml's <|im_end|> is not an end-of-turn token for Axolotl: only content is trained.
    let tok = DatasetTestTokenizer()
    #expect(DataTests.trainedTexts(try chatExample(chatml, tokenizer: tok), tok) == ["Hello!", "Ciao"])
    // special_tokens.eos_token makes it one.
    let e = try chatExample("special_tokens:\n  eos_token: \"<|im_end|>\"\n" + chatml, tokenizer: tok)
    #expect(DataTests.trainedTexts(e, tok) == ["Hello!<|im_end|>", "Ciao<|im_end|>"])
}

@Test func trainOnEOSAllLastNoneAndRolesToTrain() throws {
    let tok = DatasetTestTokenizer(eos: "<|im_end|>")
    let all = try chatExample(chatml + "    train_on_eos: all\n", tokenizer: tok)
    #expect(DataTests.trainedTexts(all, tok) == ["<|im_end|>", "<|im_end|>", "Hello!<|im_end|>", "<|im_end|>", "Ciao<|im_end|>"])
    let last = try chatExample(chatml + "    train_on_eos: last\n", tokenizer: tok)
    #expect(DataTests.trainedTexts(last, tok) == ["Hello!", "Ciao<|im_end|>"])
    let none = try chatExample(chatml + "    train_on_eos: none\n", tokenizer: tok)
    #expect(DataTests.trainedTexts(none, tok) == ["Hello!", "Ciao"])
    let users = try chatExample(chatml + "    roles_to_train: [user, assistant]\n", tokenizer: tok)
    #expect(DataTests.trainedTexts(users, tok) == ["Hi<|im_end|>", "Hello!<|im_end|>", "Bye<|im_end|>", "Ciao<|im_end|>"])
}

@Test func topLevelSystemColumnBecomesTheFirstTurn() throws {
    let tok = DatasetTestTokenizer(eos: "<|im_end|>")
    let e = try chatExample(chatml, fixtureLine: 1, tokenizer: tok)
    #expect(tok.decode(e.inputIDs, skipSpecialTokens: false) == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n")
    #expect(e.sourceLine == 2)
}

@Test func llama2RendersSystemInsideTheFirstInstAndTrainsEOSWithinThreeTokens() throws {
    let tok = DatasetTestTokenizer()
    let e = try chatExample("datasets:\n  - path: x.jsonl\n    type: chat_template\n    chat_template: llama2\n", tokenizer: tok)
    #expect(tok.decode(e.inputIDs, skipSpecialTokens: false) == "<s>[INST] <<SYS>>\nBe kind.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST] Ciao </s>")
    // The space between content and </s> stays masked; </s> is one token further and is trained.
    let tail = PreparedExamplePreview(e, tokenizer: tok).segments.suffix(3)
    #expect(tail.map(\.text) == ["Ciao", " ", "</s>"])
    #expect(tail.map(\.trained) == [true, false, true])
    #expect(DataTests.trainedTexts(e, tok) == ["Hello!", "</s>", "Ciao", "</s>"])
}

@Test func llama3TrimsContentAndTrainsEOT() throws {
    let tok = DatasetTestTokenizer(bos: "<|begin_of_text|>", eos: "<|eot_id|>")
    let yaml = "datasets:\n  - path: x.jsonl\n    type: chat_template\n    chat_template: llama3\n"
    let s = try DataTests.strategy(yaml, tokenizer: tok)
    let e = try #require(try s.tokenize(DataTests.row(#"{"messages": [{"role": "user", "content": " Hi "}, {"role": "assistant", "content": "Yo\n"}]}"#)).first)
    #expect(tok.decode(e.inputIDs, skipSpecialTokens: false) == "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nYo<|eot_id|>")
    #expect(DataTests.trainedTexts(e, tok) == ["Yo<|eot_id|>"])
}

@Test func mistralAndAlpacaChatTemplates() throws {
    let tok = DatasetTestTokenizer()
    let row = try DataTests.row(#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}"#)
    let m = try #require(try DataTests.strategy("datasets:\n  - path: x.jsonl\n    type: chat_template\n    chat_template: mistral\n", tokenizer: tok).tokenize(row).first)
    #expect(tok.decode(m.inputIDs, skipSpecialTokens: false) == "<s> [INST] Hi [/INST] Hello!</s>")
    #expect(DataTests.trainedTexts(m, tok) == ["Hello!</s>"])
    let withSystem = try DataTests.row(#"{"messages": [{"role": "system", "content": "Sys"}, {"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}"#)
    let a = try #require(try DataTests.strategy("datasets:\n  - path: x.jsonl\n    type: chat_template\n    chat_template: alpaca\n", tokenizer: tok).tokenize(withSystem).first)
    #expect(tok.decode(a.inputIDs, skipSpecialTokens: false) == "<s>Sys\n\n### Instruction:\nQ\n\n### Response:\nA</s>")
    #expect(DataTests.trainedTexts(a, tok) == ["A</s>"])
    let error = #expect(throws: DatasetError.self) {
        try DataTests.strategy("datasets:\n  - path: x.jsonl\n    type: chat_template\n    chat_template: mistral\n", tokenizer: tok).tokenize(withSystem)
    }
    #expect(error?.message.contains("conversation roles must alternate user/assistant") == true)  // checked first, as in the Jinja
}

@Test func shareGPTIsReadAsChat() throws {
    let tok = DatasetTestTokenizer(eos: "<|im_end|>")
    let rows = try JSONLDatasetReader.read(DataTests.fixture("sharegpt.jsonl"))
    let e = try #require(try DataTests.strategy("chat_template: chatml\ndatasets:\n  - path: x.jsonl\n    type: sharegpt\n", tokenizer: tok).tokenize(rows[0]).first)
    #expect(tok.decode(e.inputIDs, skipSpecialTokens: false) == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n")
    #expect(DataTests.trainedTexts(e, tok) == ["Yo<|im_end|>"])
    // The same rows through chat_template with property mappings give the same example.
    let mapped = try DataTests.strategy("""
        datasets:
          - path: x.jsonl
            type: chat_template
            chat_template: chatml
            field_messages: conversations
            message_property_mappings: {role: from, content: value}
        """, tokenizer: tok)
    #expect(try mapped.tokenize(rows[0]).first == e)
}

@Test func tokenizerDefaultTemplateIsRecognisedOrRefused() throws {
    let yaml = "datasets:\n  - path: x.jsonl\n    type: chat_template\n"
    let row = try DataTests.row(#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}"#)
    let chatmlTok = DatasetTestTokenizer(chatTemplate: "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}")
    let e = try #require(try DataTests.strategy(yaml, tokenizer: chatmlTok).tokenize(row).first)
    #expect(chatmlTok.decode(e.inputIDs, skipSpecialTokens: false).hasPrefix("<|im_start|>user\nHi<|im_end|>\n"))
    let custom = DatasetTestTokenizer(chatTemplate: "{% for m in messages %}{{ m.content }}{% endfor %}")
    let error = #expect(throws: DatasetError.self) { try DataTests.strategy(yaml, tokenizer: custom) }
    #expect(error?.message.contains("not one flow renders") == true)
    let none = #expect(throws: DatasetError.self) { try DataTests.strategy(yaml, tokenizer: DatasetTestTokenizer()) }
    #expect(none?.message.contains("the tokenizer has no chat_template") == true)
}

@Test func unmappedRolesPassThroughAndTrainingFlagsNeedTheirField() throws {
    let tok = DatasetTestTokenizer(eos: "<|im_end|>")
    let row = try DataTests.row(#"{"messages": [{"role": "narrator", "content": "Once"}, {"role": "assistant", "content": "Yo", "training": false}]}"#)
    let e = try #require(try DataTests.strategy(chatml, tokenizer: tok).tokenize(row).first)
    #expect(tok.decode(e.inputIDs, skipSpecialTokens: false) == "<|im_start|>narrator\nOnce<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n")
    #expect(DataTests.trainedTexts(e, tok) == ["Yo<|im_end|>"])  // `training` is not read by default
    let flagged = try #require(try DataTests.strategy(chatml + "    message_field_training: training\n", tokenizer: tok).tokenize(row).first)
    #expect(DataTests.trainedTexts(flagged, tok).isEmpty)
}

@Test func systemColumnYieldsToAConversationsOwnSystemTurnAndCanBeDropped() throws {
    let tok = DatasetTestTokenizer(eos: "<|im_end|>")
    let row = try DataTests.row(#"{"system": "Column", "messages": [{"role": "system", "content": "Own"}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}"#)
    let e = try #require(try DataTests.strategy(chatml, tokenizer: tok).tokenize(row).first)
    #expect(tok.decode(e.inputIDs, skipSpecialTokens: false).hasPrefix("<|im_start|>system\nOwn<|im_end|>\n<|im_start|>user"))
    let dropped = try #require(try DataTests.strategy(chatml + "    drop_system_message: true\n", tokenizer: tok).tokenize(row).first)
    #expect(tok.decode(dropped.inputIDs, skipSpecialTokens: false) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n")
}
