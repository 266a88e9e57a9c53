import Foundation
import Testing
@testable import FlowLLM

/// Prompts rendered as in training: chat templates with the generation header, and instruction formats.
@Suite struct GenerationPromptTests {
    @Test func chatPromptsMatchJinjaWithGenerationPrompt() throws {
        let expected = try GenerationFixtures.expected()
        let messages = expected.chat_messages.map { ChatTemplateMessage(role: $0["role"] ?? "", content: $0["content"] ?? "") }
        #expect(expected.chat_prompts.count == AxolotlChatTemplate.allCases.count)
        for (name, reference) in expected.chat_prompts {
            let template = try #require(AxolotlChatTemplate.named(name))
            let rendered = try GenerationPrompt.chat(messages, template: template, bosToken: reference.bos, eosToken: reference.eos)
            #expect(rendered == reference.rendered, "template \(name)")
        }
    }

    @Test func instructPromptUsesTheConfigFormat() throws {
        var format = InstructPromptFormat()
        format.format = "[INST] {instruction}\n{input} [/INST]"
        format.noInputFormat = "[INST] {instruction} [/INST]"
        format.systemFormat = "<<SYS>>{system}<</SYS>>"
        #expect(try GenerationPrompt.instruct(format, instruction: "Add", input: "1 2") == "[INST] Add\n1 2 [/INST]")
        #expect(try GenerationPrompt.instruct(format, instruction: "Hi", system: "Be brief.") == "<<SYS>>Be brief.<</SYS>>[INST] Hi [/INST]")
        format.format = "{instruction} {missing}"
        #expect(throws: DatasetError.self) { try GenerationPrompt.instruct(format, instruction: "x", input: "y") }
    }

    @Test func chatGenerationEncodesTheTemplatesBOSOnce() throws {
        let generator = try GenerationFixtures.generator()
        let messages = [ChatTemplateMessage(role: "user", content: "The quick brown fox")]
        let out = try generator.generate(messages: messages, template: .llama2, options: GenerationOptions(maxTokens: 3))
        let prompt = try GenerationPrompt.chat(messages, template: .llama2, bosToken: "<s>", eosToken: "</s>")
        let ids = generator.tokenizer.encode(prompt, addSpecialTokens: false)
        #expect(ids.first == generator.tokenizer.bosTokenID)
        #expect(ids.filter { $0 == generator.tokenizer.bosTokenID }.count == 1)
        #expect(out.promptTokens == ids.count)
        #expect(out.tokenIDs == (try generator.generate(promptIDs: ids, options: GenerationOptions(maxTokens: 3))).tokenIDs)
    }
}
