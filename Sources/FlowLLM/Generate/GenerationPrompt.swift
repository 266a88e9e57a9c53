/// Prompt text for generation, rendered the way the fine-tuning data was: a chat with one of Axolotl's built-in
/// templates (plus the assistant header, Jinja's `add_generation_prompt`), or an instruction with the config's
/// own `format` / `no_input_format` / `system_format`. Encode the result with `addSpecialTokens: false` when the
/// template writes BOS itself (llama2, llama3, mistral_v1, alpaca); `TextGenerator.generate(messages:…)` does.
public enum GenerationPrompt {
    /// The conversation as `template` renders it, followed by the text that opens the assistant's reply.
    public static func chat(_ messages: [ChatTemplateMessage], template: AxolotlChatTemplate, bosToken: String,
                            eosToken: String) throws -> String {
        guard !messages.isEmpty else { throw GenerationError("chat prompt: no messages; give at least one user message") }
        return try template.render(messages, bosToken: bosToken, eosToken: eosToken) + generationHeader(template)
    }

    /// What the template's Jinja source appends with `add_generation_prompt` (nothing for the [INST] templates,
    /// whose user turn already ends where the reply begins).
    public static func generationHeader(_ template: AxolotlChatTemplate) -> String {
        switch template {
        case .chatml: "<|im_start|>assistant\n"
        case .llama3: "<|start_header_id|>assistant<|end_header_id|>\n\n"
        case .alpaca: "\n\n### Response:\n"
        case .llama2, .mistralV1: ""
        }
    }

    /// The prompt side of an instruction dataset's format (what the model saw before each response in training).
    public static func instruct(_ format: InstructPromptFormat, instruction: String, input: String = "",
                                system: String? = nil) throws -> String {
        var fields: [String: DatasetValue] = [format.fieldInstruction: .string(instruction), format.fieldOutput: .string(""),
                                              format.fieldInput: .string(input)]
        if let system { fields[format.fieldSystem] = .string(system) }
        return try format.render(DatasetRow(file: "prompt", line: 1, fields: fields)).prompt
    }
}

extension TextGenerator {
    /// Generates the assistant's reply to `messages`, rendered with `template` (BOS comes from the template,
    /// so the prompt is encoded without adding special tokens; `options.addSpecialTokens` is ignored).
    public func generate(messages: [ChatTemplateMessage], template: AxolotlChatTemplate, options: GenerationOptions,
                         onToken: ((GeneratedToken) -> Bool)? = nil) throws -> Generation {
        let prompt = try GenerationPrompt.chat(messages, template: template, bosToken: tokenizer.bosToken ?? "",
                                               eosToken: tokenizer.eosToken ?? "")
        var options = options
        options.addSpecialTokens = false
        return try generate(prompt: prompt, options: options, onToken: onToken)
    }
}
