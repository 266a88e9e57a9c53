import Foundation

extension Tokenizer {
    /// Writes `tokenizer.json` and `tokenizer_config.json` into `directory` (created if needed), including tokens and
    /// special tokens added since loading; the Python `tokenizers` and `transformers` libraries load the result.
    public func write(to directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(state.tokenizerJSONBytes()).write(
                to: directory.appendingPathComponent("tokenizer.json"),
                options: .atomic)
            try Data(state.tokenizerConfigBytes()).write(
                to: directory.appendingPathComponent("tokenizer_config.json"), options: .atomic)
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError(file: directory.path, "cannot write the tokenizer: \(error.localizedDescription)")
        }
    }
}

extension TokenizerState {
    /// `tokenizer.json` with `added_tokens` rewritten from the current added vocabulary (sorted by id, as
    /// `tokenizers` writes it).
    func tokenizerJSONBytes() -> [UInt8] {
        let entries: [TokenizerJSONValue] = added.tokens.sorted { $0.id < $1.id }.map { token in
            .object([
                ("id", .int(Int(token.id))), ("content", .string(token.content)),
                ("single_word", .bool(token.singleWord)), ("lstrip", .bool(token.lstrip)),
                ("rstrip", .bool(token.rstrip)), ("normalized", .bool(token.normalized)),
                ("special", .bool(token.special)),
            ])
        }
        return document.setting("added_tokens", to: .array(entries)).serialized()
    }

    /// `tokenizer_config.json` as read (or a minimal one) with the current special tokens and chat template.
    func tokenizerConfigBytes() -> [UInt8] {
        var config = configDocument ?? .object([("tokenizer_class", .string("PreTrainedTokenizerFast"))])
        let fields: [(String, String?)] = [
            ("bos_token", specialTokens.bos), ("eos_token", specialTokens.eos), ("pad_token", specialTokens.pad),
            ("unk_token", specialTokens.unk),
        ]
        for (key, value) in fields {
            if let value { config = config.setting(key, to: .string(value)) }
        }
        if let chatTemplate, configDocument?["chat_template"] == nil {
            config = config.setting("chat_template", to: .string(chatTemplate))
        }
        return config.serialized()
    }
}
