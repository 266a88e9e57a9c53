/// Raw-text datasets (`completion`): the text with BOS and EOS, every token trained, cut into
/// `sequence_len` chunks (Axolotl truncates the text at 64 × `sequence_len` tokens first).
public struct CompletionPromptStrategy: DatasetPromptStrategy {
    /// The text column (`field`, default `text`).
    public let field: String
    /// Tokenizer and label rules.
    public let context: PromptTokenizationContext

    /// A strategy.
    public init(field: String = "text", context: PromptTokenizationContext) {
        self.field = field
        self.context = context
    }

    public func tokenize(_ row: DatasetRow) throws -> [TokenizedExample] {
        let text = try row.requiredText(field, for: "the completion text")
        let ids = context.tokenizePart(text, addEOS: true, stripBOS: false, maxLength: context.sequenceLen * 64)
        return stride(from: 0, to: ids.count, by: context.sequenceLen).map { start in
            let chunk = Array(ids[start..<min(start + context.sequenceLen, ids.count)])
            return TokenizedExample(inputIDs: chunk, labels: chunk, sourceLine: row.line)
        }
    }
}

/// Pre-segmented datasets (`input_output`): `{"segments":[{"label":bool,"text":str}]}`, each segment
/// tokenized without special tokens, `label: false` segments masked unless `train_on_inputs`.
public struct InputOutputPromptStrategy: DatasetPromptStrategy {
    /// Tokenizer and label rules.
    public let context: PromptTokenizationContext

    /// A strategy.
    public init(context: PromptTokenizationContext) { self.context = context }

    public func tokenize(_ row: DatasetRow) throws -> [TokenizedExample] {
        guard case .array(let segments)? = row.fields["segments"] else {
            throw DatasetError(file: row.file, line: row.line,
                               "row has no `segments` array (input_output); it has \(row.fieldList). Each row must be {\"segments\": [{\"label\": true, \"text\": \"...\"}]}")
        }
        var ids: [Int32] = [], labels: [Int32] = []
        for (index, segment) in segments.enumerated() {
            guard case .object(let fields) = segment, case .string(let text)? = fields["text"],
                  case .bool(let label)? = fields["label"] else {
                throw DatasetError(file: row.file, line: row.line,
                                   "segments[\(index)] must be an object with a string `text` and a boolean `label`")
            }
            let segmentIDs = context.tokenizer.encode(text, addSpecialTokens: false)
            ids += segmentIDs
            labels += label || context.trainOnInputs
                ? segmentIDs : [Int32](repeating: TokenizedExample.ignoredLabel, count: segmentIDs.count)
        }
        return [TokenizedExample(inputIDs: ids, labels: labels, sourceLine: row.line)]
    }
}
