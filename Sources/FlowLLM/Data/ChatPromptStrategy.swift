/// When the end-of-turn token after a turn is trained (`train_on_eos`).
public enum TrainOnEOS: String, Sendable, CaseIterable {
    /// After every trained turn (the default).
    case turn
    /// After every turn.
    case all
    /// After the last turn only.
    case last
    /// Never.
    case none
}

/// How a chat dataset's rows map onto messages.
public struct ChatDatasetFormat: Sendable, Equatable {
    /// The column holding the messages (`field_messages`).
    public var fieldMessages = "messages"
    /// A top-level column whose text becomes a first system turn (`field_system`).
    public var fieldSystem = "system"
    /// Message property names (`message_property_mappings`: role, content).
    public var roleProperty = "role", contentProperty = "content"
    /// The per-message training flag (`message_field_training`); not read unless set, as in Axolotl.
    public var trainingProperty: String? = nil
    /// Source role name → template role (`roles` overrides the default).
    public var roleMap: [String: String] = ChatDatasetFormat.defaultRoleMap
    /// Roles whose turns are trained (`roles_to_train`).
    public var rolesToTrain: Set<String> = ["assistant"]
    /// `train_on_eos`.
    public var trainOnEOS: TrainOnEOS = .turn
    /// `train_on_eot`; nil follows `train_on_eos`.
    public var trainOnEOT: TrainOnEOS? = nil
    /// The template.
    public var template: AxolotlChatTemplate = .chatml
    /// `drop_system_message`: leave out a leading system turn.
    public var dropSystemMessage = false

    /// Axolotl's default role mapping.
    public static let defaultRoleMap = [
        "human": "user", "user": "user", "assistant": "assistant", "gpt": "assistant",
        "system": "system", "tool": "tool",
    ]

    /// ShareGPT rows: `conversations` of `{from, value}`.
    public static var shareGPT: ChatDatasetFormat {
        var f = ChatDatasetFormat()
        f.fieldMessages = "conversations"
        f.roleProperty = "from"
        f.contentProperty = "value"
        return f
    }

    /// Chat format with Axolotl's defaults.
    public init() {}

    /// The messages of `row`, roles mapped, a top-level system column first.
    public func messages(of row: DatasetRow) throws -> [ChatTemplateMessage] {
        guard case .array(let items)? = row.fields[fieldMessages] else {
            throw DatasetError(file: row.file, line: row.line,
                               "row has no `\(fieldMessages)` array (chat); it has \(row.fieldList). Set `field_messages` to the column holding the conversation.")
        }
        var messages: [ChatTemplateMessage] = []
        for (index, item) in items.enumerated() {
            guard case .object(let fields) = item else {
                throw DatasetError(file: row.file, line: row.line, "\(fieldMessages)[\(index)] is a \(item.kindName), expected an object")
            }
            guard let role = fields[roleProperty]?.text else {
                throw DatasetError(file: row.file, line: row.line,
                                   "\(fieldMessages)[\(index)] has no string `\(roleProperty)`; it has \(fields.keys.sorted().map { "`\($0)`" }.joined(separator: ", ")). Set message_property_mappings: {role: ..., content: ...}")
            }
            guard let content = fields[contentProperty]?.text else {
                throw DatasetError(file: row.file, line: row.line,
                                   "\(fieldMessages)[\(index)] has no string `\(contentProperty)`; it has \(fields.keys.sorted().map { "`\($0)`" }.joined(separator: ", ")). Set message_property_mappings: {role: ..., content: ...}")
            }
            // Axolotl keeps a role its map does not know as it is.
            let mapped = roleMap[role] ?? role
            var training: Bool? = nil
            if let trainingProperty, case .bool(let b)? = fields[trainingProperty] { training = b }
            messages.append(ChatTemplateMessage(role: mapped, content: content, training: training))
        }
        // As Axolotl: a top-level system column (even empty) opens the conversation unless it already has one.
        if messages.first?.role != "system", let system = try row.optionalText(fieldSystem) {
            messages.insert(ChatTemplateMessage(role: "system", content: system), at: 0)
        }
        if dropSystemMessage, messages.first?.role == "system" { messages.removeFirst() }
        return messages
    }
}

/// Chat datasets, masked per turn like Axolotl's `chat_template` strategy: the conversation is rendered and
/// tokenized whole; each turn's content span is found by diffing the tokens of the conversation up to that
/// turn against the same with the turn's content replaced by a dummy. A turn is trained when its `training`
/// flag says so, else with `train_on_inputs` or a role in `roles_to_train`. The first EOS, and separately the
/// first end-of-turn token (`eot_tokens`, default EOS), within 3 tokens after a turn are trained per
/// `train_on_eos` / `train_on_eot`.
public struct ChatPromptStrategy: DatasetPromptStrategy {
    /// Row layout, roles, template, training rules.
    public let format: ChatDatasetFormat
    /// Tokenizer and label rules.
    public let context: PromptTokenizationContext
    /// Ids that end a turn (`eot_tokens`; EOS when none are given).
    public let endOfTurnIDs: Set<Int32>

    /// A strategy; `endOfTurnIDs` nil means the EOS id.
    public init(format: ChatDatasetFormat, context: PromptTokenizationContext, endOfTurnIDs: [Int32]? = nil) {
        self.format = format
        self.context = context
        self.endOfTurnIDs = Set(endOfTurnIDs ?? (context.eosID.map { [$0] } ?? []))
    }

    public func tokenize(_ row: DatasetRow) throws -> [TokenizedExample] {
        let messages = try format.messages(of: row)
        let ids = try encode(messages, row: row)
        var labels = [Int32](repeating: TokenizedExample.ignoredLabel, count: ids.count)
        let trainOnEOT = format.trainOnEOT ?? format.trainOnEOS
        let eos: Set<Int32> = context.eosID.map { [$0] } ?? []
        let passes = [(eos, format.trainOnEOS), (endOfTurnIDs, trainOnEOT)]
        var lastIndex = [-1, -1]
        for (index, message) in messages.enumerated() {
            let train = message.training ?? (context.trainOnInputs || format.rolesToTrain.contains(message.role))
            // Axolotl skips locating untrained turns unless their end tokens are trained too (`all`).
            guard train || format.trainOnEOS == .all || trainOnEOT == .all else { continue }
            guard let (start, end) = try turnSpan(messages, index, row: row) else { continue }
            if train { for i in start..<min(end, ids.count) { labels[i] = ids[i] } }
            for (pass, (tokens, rule)) in passes.enumerated() {
                guard let at = (end..<ids.count).first(where: { tokens.contains(ids[$0]) }), at - end <= 3 else { continue }
                lastIndex[pass] = at
                if rule == .all || (rule == .turn && train) { labels[at] = ids[at] }
            }
        }
        for (pass, (_, rule)) in passes.enumerated() where rule == .last && lastIndex[pass] >= 0 {
            labels[lastIndex[pass]] = ids[lastIndex[pass]]
        }
        return [TokenizedExample(inputIDs: ids, labels: labels, sourceLine: row.line)]
    }

    private func encode(_ messages: [ChatTemplateMessage], row: DatasetRow) throws -> [Int32] {
        do {
            let text = try format.template.render(messages, bosToken: context.bosToken, eosToken: context.eosToken)
            return context.tokenizer.encode(text, addSpecialTokens: false)
        } catch let error as DatasetError {
            throw DatasetError(file: row.file, line: row.line, error.message)
        }
    }

    /// The token span of message `index`'s content, as Axolotl's `find_turn` computes it.
    private func turnSpan(_ messages: [ChatTemplateMessage], _ index: Int, row: DatasetRow) throws -> (Int, Int)? {
        var dummy = Array(messages[...index])
        dummy[index].content = "[[dummy_message]]"
        let full = try encode(Array(messages[...index]), row: row)
        let withDummy = try encode(dummy, row: row)
        let common = min(full.count, withDummy.count)
        guard let start = (0..<common).first(where: { full[$0] != withDummy[$0] }) else { return nil }
        guard let fromEnd = (0..<common).first(where: { full[full.count - 1 - $0] != withDummy[withDummy.count - 1 - $0] })
        else { return nil }
        let end = full.count - fromEnd
        return end > start ? (start, end) : nil
    }
}
