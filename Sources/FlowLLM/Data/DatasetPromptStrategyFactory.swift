/// Builds the prompt strategy of one configured dataset.
public enum DatasetPromptStrategyFactory {
    /// The strategy for `dataset` under `config`; an unknown type lists the known ones.
    public static func make(for dataset: DatasetConfig, in config: AxolotlConfig,
                            context: PromptTokenizationContext) throws -> any DatasetPromptStrategy {
        let at = "\(config.sourceFile)\(dataset.line.map { ":\($0)" } ?? "")"
        switch dataset.type {
        case .userDefined(let u):
            var f = InstructPromptFormat()
            f.fieldInstruction = u.fieldInstruction; f.fieldInput = u.fieldInput
            f.fieldOutput = u.fieldOutput; f.fieldSystem = u.fieldSystem
            f.format = u.format; f.noInputFormat = u.noInputFormat
            f.systemFormat = u.systemFormat; f.systemPrompt = u.systemPrompt
            return InstructPromptStrategy(format: f, context: context)
        case .named(let name):
            let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
            let base = parts.first ?? name, style = parts.count > 1 ? parts[1] : nil
            switch base {
            case "alpaca":
                guard let format = InstructPromptFormat.alpaca(style: style ?? "instruct") else {
                    throw DatasetError("\(at): dataset type `\(name)`: alpaca styles are instruct, chat, chatml and phi")
                }
                return InstructPromptStrategy(format: format, context: context)
            case "completion":
                return CompletionPromptStrategy(field: dataset.field ?? "text", context: context)
            case "input_output":
                return InputOutputPromptStrategy(context: context)
            case "chat_template", "sharegpt":
                var f = base == "sharegpt" ? ChatDatasetFormat.shareGPT : ChatDatasetFormat()
                try configure(&f, from: dataset, in: config, context: context, at: at)
                let eot = try config.eotTokens?.map { token -> Int32 in
                    guard let id = context.tokenizer.id(forToken: token) else {
                        throw DatasetError("\(config.sourceFile): eot_tokens: `\(token)` is not a single token of the tokenizer; add it under `tokens:` or list tokens the vocabulary has")
                    }
                    return id
                }
                return ChatPromptStrategy(format: f, context: context, endOfTurnIDs: eot)
            default:
                throw DatasetError("\(at): unknown dataset type `\(name)`; known types: \(AxolotlConfig.knownDatasetTypes.joined(separator: ", ")), or a mapping with field_instruction/format")
            }
        }
    }

    private static func configure(_ f: inout ChatDatasetFormat, from d: DatasetConfig, in config: AxolotlConfig,
                                  context: PromptTokenizationContext, at: String) throws {
        if let v = d.fieldMessages { f.fieldMessages = v }
        if let v = d.fieldSystem { f.fieldSystem = v }
        if let v = d.messagePropertyMappings["role"] { f.roleProperty = v }
        if let v = d.messagePropertyMappings["content"] { f.contentProperty = v }
        if let v = d.messagePropertyMappings["training"] { f.trainingProperty = v }
        if !d.roles.isEmpty {
            f.roleMap = [:]
            for (role, sources) in d.roles { for s in sources { f.roleMap[s] = role } }
        }
        // Axolotl maps `roles_to_train` through the role map, so `gpt` means `assistant`.
        if let v = d.rolesToTrain { f.rolesToTrain = Set(v.map { f.roleMap[$0] ?? $0 }) }
        if let v = d.trainOnEOS { f.trainOnEOS = TrainOnEOS(rawValue: v) ?? .turn }
        if let v = d.trainOnEOT { f.trainOnEOT = TrainOnEOS(rawValue: v) }
        f.dropSystemMessage = d.dropSystemMessage
        f.template = try resolveTemplate(d.chatTemplate ?? config.chatTemplate ?? "tokenizer_default",
                                         tokenizer: context.tokenizer, at: at)
    }

    /// The built-in template a config's `chat_template` names; `tokenizer_default` recognises the tokenizer's.
    public static func resolveTemplate(_ name: String, tokenizer: any PromptTokenizer, at: String) throws -> AxolotlChatTemplate {
        let known = AxolotlChatTemplate.allCases.map(\.rawValue).joined(separator: ", ")
        if name == "tokenizer_default" || name == "tokenizer_default_fallback_chatml" {
            guard let jinja = tokenizer.chatTemplate else {
                if name.hasSuffix("chatml") { return .chatml }
                throw DatasetError("\(at): chat_template: tokenizer_default, but the tokenizer has no chat_template; set chat_template to one of \(known)")
            }
            guard let recognised = AxolotlChatTemplate.recognising(jinja: jinja) else {
                if name.hasSuffix("chatml") { return .chatml }
                throw DatasetError("\(at): chat_template: tokenizer_default, but the tokenizer's template is not one flow renders (it has no Jinja engine); set chat_template to one of \(known)")
            }
            return recognised
        }
        guard let template = AxolotlChatTemplate.named(name) else {
            throw DatasetError("\(at): chat_template `\(name)` is not built in; use one of \(known) or tokenizer_default")
        }
        return template
    }
}
