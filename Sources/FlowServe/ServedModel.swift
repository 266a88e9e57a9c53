import FlowLLM
import Foundation

/// The one model a server answers for: its generator, the name clients use, its chat template and context length.
public struct ServedModel: Sendable {
    /// The model and tokenizer.
    public let generator: TextGenerator
    /// The `model` clients send and `/v1/models` lists.
    public let name: String
    /// How chat messages become a prompt.
    public let chatTemplate: AxolotlChatTemplate
    /// Prompt plus completion tokens a request may use (`max_position_embeddings`).
    public let contextLength: Int
    /// When the model was loaded (Unix seconds), for `/v1/models`.
    public let created: Int

    /// A model served as `name`. `chatTemplate` nil takes the tokenizer's own template when flow recognises it
    /// (`tokenizer_config.json`'s `chat_template`), else ChatML.
    public init(generator: TextGenerator, name: String, chatTemplate: AxolotlChatTemplate? = nil) {
        self.generator = generator
        self.name = name
        self.chatTemplate = chatTemplate ?? generator.tokenizer.chatTemplate.flatMap(AxolotlChatTemplate.recognising(jinja:)) ?? .chatml
        contextLength = generator.model.config.maxPositionEmbeddings
        created = Int(Date().timeIntervalSince1970)
    }

    /// A completion prompt's token ids: text is encoded with the tokenizer's special tokens (BOS), as
    /// `TextGenerator.generate(prompt:)` does; token ids are taken as they are.
    func promptIDs(_ prompt: CompletionRequest.PromptField) -> [Int32] {
        switch prompt {
        case .text(let text): generator.tokenizer.encode(text, addSpecialTokens: true)
        case .tokens(let ids): ids
        }
    }

    /// A chat's token ids: the messages rendered with the chat template (which writes BOS itself) plus the
    /// assistant header, encoded without adding special tokens.
    func promptIDs(_ messages: [ChatCompletionRequest.Message]) throws -> [Int32] {
        guard !messages.isEmpty else {
            throw OpenAIError.invalidRequest("'messages' is empty; give at least one message.", param: "messages", code: "empty_array")
        }
        let tokenizer = generator.tokenizer
        do {
            let prompt = try GenerationPrompt.chat(messages.map { ChatTemplateMessage(role: $0.role, content: $0.content) },
                                                   template: chatTemplate, bosToken: tokenizer.bosToken ?? "",
                                                   eosToken: tokenizer.eosToken ?? "")
            return tokenizer.encode(prompt, addSpecialTokens: false)
        } catch {
            throw OpenAIError.invalidRequest("'messages' cannot be rendered with the \(chatTemplate.rawValue) chat template: \(error)", param: "messages")
        }
    }

    /// Where the assistant's turn ends besides EOS: the template's end-of-turn marker, as a token id when the
    /// tokenizer has it as one token, else as a stop string.
    func endOfTurn() -> (tokenIDs: [Int32], stops: [String]) {
        let marker: String
        switch chatTemplate {
        case .chatml: marker = "<|im_end|>"
        case .llama3: marker = "<|eot_id|>"
        case .llama2, .mistralV1, .alpaca: return ([], [])
        }
        if let id = generator.tokenizer.id(forToken: marker) { return ([id], []) }
        return ([], [marker])
    }
}
