/// The prompt layout of an instruction dataset: Axolotl's `alpaca` or a user-defined `type:` mapping.
public struct InstructPromptFormat: Sendable, Equatable {
    /// Row field names.
    public var fieldInstruction = "instruction", fieldInput = "input", fieldOutput = "output", fieldSystem = "system"
    /// The turn with an input (`format`) and without (`no_input_format`).
    public var format = "{instruction} {input} ", noInputFormat = "{instruction} "
    /// How a non-empty system text is written before the turn.
    public var systemFormat = "{system}"
    /// The system text when the row has none (user-defined), and whether the row may carry one.
    public var systemPrompt = "", rowCarriesSystem = true
    /// Alpaca's fixed system texts, with and without input; nil for user-defined formats.
    public var fixedSystemWithInput: String? = nil, fixedSystemWithoutInput: String? = nil

    /// Axolotl's `alpaca` prompter (style `instruct`).
    public static let alpaca = alpaca(style: "instruct")!

    /// Axolotl's `alpaca:<style>` prompter: `instruct`, `chat`, `chatml` or `phi`; nil for other styles.
    public static func alpaca(style: String) -> InstructPromptFormat? {
        guard let layout = alpacaStyles[style == "alpaca" ? "instruct" : style] else { return nil }
        var f = InstructPromptFormat()
        (f.format, f.noInputFormat, f.systemFormat) = layout
        f.rowCarriesSystem = false
        f.fixedSystemWithInput = "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request."
        f.fixedSystemWithoutInput = "Below is an instruction that describes a task. Write a response that appropriately completes the request."
        return f
    }

    /// Axolotl's `AlpacaPrompter` styles: (turn with input, turn without input, system format).
    private static let alpacaStyles: [String: (String, String, String)] = [
        "instruct": ("### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
                     "### Instruction:\n{instruction}\n\n### Response:\n", "{system}\n\n"),
        "chat": ("USER: {instruction}\n{input}\nASSISTANT:", "USER: {instruction}\nASSISTANT:", "SYSTEM: {system}\n"),
        "chatml": ("<|im_start|>user\n{instruction}\n{input}<|im_end|>\n<|im_start|>assistant\n",
                   "<|im_start|>user\n{instruction}<|im_end|>\n<|im_start|>assistant\n", "<|im_start|>system\n{system}<|im_end|>\n"),
        "phi": ("<|user|>\n{instruction}<|end|>{input}<|assistant|>", "<|user|>\n{instruction}<|end|>\n<|assistant|>\n",
                "<|system|>\n{system}<|end|>\n"),
    ]

    /// A user-defined format with Axolotl's defaults.
    public init() {}

    /// The prompt text of `row` (everything before the response) and the response text.
    public func render(_ row: DatasetRow) throws -> (prompt: String, response: String) {
        let instruction = try row.requiredText(fieldInstruction, for: "the instruction")
        let response = try row.requiredText(fieldOutput, for: "the response")
        let input = try row.optionalText(fieldInput) ?? ""
        let hasInput = !input.isEmpty
        let system: String
        if let fixed = hasInput ? fixedSystemWithInput : fixedSystemWithoutInput {
            system = fixed
        } else if rowCarriesSystem, let value = row.fields[fieldSystem] {
            system = value.text ?? ""  // present wins over system_prompt, even when empty or null (as in Axolotl)
        } else {
            system = systemPrompt
        }
        let context = "\(row.file):\(row.line)"
        let prefix = system.isEmpty ? "" : try PromptFormatString(systemFormat).render(["system": system], context: context)
        let turn = hasInput
            ? try PromptFormatString(format).render(["instruction": instruction, "input": input], context: context)
            : try PromptFormatString(noInputFormat).render(["instruction": instruction], context: context)
        return (prefix + turn, response)
    }
}

/// Instruction datasets: the prompt tokenized alone (with BOS) and masked unless `train_on_inputs`; the
/// response tokenized alone, BOS stripped, EOS appended; the two concatenated (Axolotl's rule).
public struct InstructPromptStrategy: DatasetPromptStrategy {
    /// The layout.
    public let format: InstructPromptFormat
    /// Tokenizer and label rules.
    public let context: PromptTokenizationContext

    /// A strategy.
    public init(format: InstructPromptFormat, context: PromptTokenizationContext) {
        self.format = format
        self.context = context
    }

    public func tokenize(_ row: DatasetRow) throws -> [TokenizedExample] {
        let (prompt, response) = try format.render(row)
        let promptIDs = context.tokenizePart(prompt, addEOS: false, stripBOS: false)
        let responseIDs = context.tokenizePart(response, addEOS: true, stripBOS: true)
        let promptLabels = context.trainOnInputs
            ? promptIDs : [Int32](repeating: TokenizedExample.ignoredLabel, count: promptIDs.count)
        return [TokenizedExample(inputIDs: promptIDs + responseIDs, labels: promptLabels + responseIDs, sourceLine: row.line)]
    }
}
