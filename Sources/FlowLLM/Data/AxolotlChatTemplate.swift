/// One message of a conversation after role mapping.
public struct ChatTemplateMessage: Sendable, Equatable {
    /// `system`, `user`, `assistant`, `tool`, ...
    public var role: String
    /// The text.
    public var content: String
    /// A per-message override of `roles_to_train` (the row's `training` field), if any.
    public var training: Bool?

    /// A message.
    public init(role: String, content: String, training: Bool? = nil) {
        self.role = role
        self.content = content
        self.training = training
    }
}

/// Axolotl's built-in chat templates, rendered in Swift exactly as their Jinja sources render
/// (`add_generation_prompt` false; Jinja drops the file's single trailing newline).
public enum AxolotlChatTemplate: String, Sendable, CaseIterable {
    /// `<|im_start|>{role}\n{content}<|im_end|>\n` per message, no BOS.
    case chatml
    /// Llama 2 chat (meta-llama's template; Axolotl no longer ships one):
    /// `<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s>`.
    case llama2
    /// Llama 3: BOS, then `<|start_header_id|>{role}<|end_header_id|>\n\n{content|trim}<|eot_id|>`.
    case llama3
    /// Mistral v1: BOS, then ` [INST] {user} [/INST]` and ` {assistant}</s>`; user/assistant only.
    case mistralV1 = "mistral_v1"
    /// Alpaca as a chat: `### Instruction:\n` / `### Response:\n`, turns joined by blank lines.
    case alpaca

    /// The names a config may use (`mistral` is read as `mistral_v1`).
    public static func named(_ name: String) -> AxolotlChatTemplate? {
        name == "mistral" ? .mistralV1 : AxolotlChatTemplate(rawValue: name)
    }

    /// Which built-in a tokenizer's Jinja template is, recognised by its marker tokens; nil when unknown.
    public static func recognising(jinja: String) -> AxolotlChatTemplate? {
        if jinja.contains("<|im_start|>") && jinja.contains("<|im_end|>") { return .chatml }
        if jinja.contains("<|start_header_id|>") && jinja.contains("<|eot_id|>") { return .llama3 }
        if jinja.contains("[INST]") && jinja.contains("<<SYS>>") { return .llama2 }
        if jinja.contains("[INST]") { return .mistralV1 }
        if jinja.contains("### Instruction:") && jinja.contains("### Response:") { return .alpaca }
        return nil
    }

    /// The conversation as text; roles the template cannot place are an error naming the rule.
    public func render(_ messages: [ChatTemplateMessage], bosToken: String, eosToken: String) throws -> String {
        var out = ""
        switch self {
        case .chatml:
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
        case .llama3:
            for (i, m) in messages.enumerated() {
                if i == 0 { out += bosToken }
                out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(AxolotlChatTemplate.strip(m.content))<|eot_id|>"
            }
        case .llama2:
            var loop = messages[...]
            var system = ""
            if let first = messages.first, first.role == "system" {
                system = "<<SYS>>\n" + first.content + "\n<</SYS>>\n\n"
                loop = messages.dropFirst()
            }
            for (i, m) in loop.enumerated() {
                try checkAlternation(m, index: i)
                let content = i == 0 ? system + m.content : m.content
                if m.role == "user" { out += bosToken + "[INST] " + AxolotlChatTemplate.strip(content) + " [/INST]" }
                else if m.role == "assistant" { out += " " + AxolotlChatTemplate.strip(content) + " " + eosToken }
            }
        case .mistralV1:
            out += bosToken
            for (i, m) in messages.enumerated() {
                try checkAlternation(m, index: i)
                if m.role == "user" { out += " [INST] " + m.content + " [/INST]" }
                else if m.role == "assistant" { out += " " + m.content + eosToken }
                else { throw DatasetError("chat template mistral_v1: only user and assistant roles are supported (found `\(m.role)`); use chatml or llama3 for system messages") }
            }
        case .alpaca:
            out += bosToken
            for (i, m) in messages.enumerated() {
                if m.role == "system" && i == 0 { out += m.content }
                else if m.role == "user" { out += "### Instruction:\n" + m.content }
                else if m.role == "assistant" { out += "### Response:\n" + m.content + eosToken }
                if i != messages.count - 1 { out += "\n\n" }
            }
        }
        return out
    }

    private func checkAlternation(_ m: ChatTemplateMessage, index: Int) throws {
        if (m.role == "user") != (index % 2 == 0) {
            throw DatasetError("chat template \(rawValue): conversation roles must alternate user/assistant/user/assistant/... (message \(index) is `\(m.role)`)")
        }
    }
}

extension AxolotlChatTemplate {
    /// Python's `str.strip()` / Jinja's `trim`: whitespace off both ends.
    static func strip(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
