/// The special tokens a `tokenizer_config.json` names.
struct TokenizerSpecialTokens: Sendable, Equatable {
    var bos: String?
    var eos: String?
    var pad: String?
    var unk: String?
}

/// Everything a `Tokenizer` holds, read from `tokenizer.json` and `tokenizer_config.json`.
struct TokenizerState: Sendable {
    var model: BPEModel
    var normalizer: TokenizerNormalizer?
    var preTokenizer: TokenizerPreTokenizer?
    var postProcessor: TokenizerPostProcessor?
    var decoder: TokenizerDecoder?
    var added: AddedVocabulary
    var specialTokens: TokenizerSpecialTokens
    var chatTemplate: String?
    /// `tokenizer.json` as read; `added_tokens` is rewritten from `added` when the tokenizer is written.
    var document: TokenizerJSONValue
    /// `tokenizer_config.json` as read, if there was one.
    var configDocument: TokenizerJSONValue?
    var contentDigest: String

    init(
        tokenizerJSON: [UInt8], tokenizerConfig: [UInt8]?, jsonName: String = "tokenizer.json",
        configName: String = "tokenizer_config.json"
    ) throws {
        let document = try TokenizerJSONValue.parse(tokenizerJSON, file: jsonName)
        let root = TokenizerJSONField(value: document, file: jsonName, path: "")
        guard case .object = document else { throw root.error("expected a JSON object at the top level") }
        self.document = document

        normalizer = try root["normalizer"].map(TokenizerNormalizer.parse)
        preTokenizer = try root["pre_tokenizer"].map(TokenizerPreTokenizer.parse)
        postProcessor = try root["post_processor"].map(TokenizerPostProcessor.parse)
        decoder = try root["decoder"].map(TokenizerDecoder.parse)
        model = try Self.parseModel(root.required("model"), byteLevel: preTokenizer?.isByteLevel ?? false)

        added = AddedVocabulary()
        for entry in try root["added_tokens"]?.array() ?? [] {
            added.insert(
                TokenizerAddedToken(
                    id: Int32(try entry.int("id")), content: try entry.string("content"),
                    special: try entry.bool("special", default: false),
                    singleWord: try entry.bool("single_word", default: false),
                    lstrip: try entry.bool("lstrip", default: false), rstrip: try entry.bool("rstrip", default: false),
                    normalized: try entry.bool("normalized", default: true)))
        }
        added.refreshMatchers(normalizer: normalizer)

        var digest = TokenizerDigest()
        digest.updateField(tokenizerJSON)
        digest.updateField(tokenizerConfig ?? [])
        contentDigest = digest.hexDigest()

        specialTokens = TokenizerSpecialTokens()
        if let tokenizerConfig {
            let config = try TokenizerJSONValue.parse(tokenizerConfig, file: configName)
            configDocument = config
            let configRoot = TokenizerJSONField(value: config, file: configName, path: "")
            specialTokens = TokenizerSpecialTokens(
                bos: try Self.tokenContent(configRoot["bos_token"]),
                eos: try Self.tokenContent(configRoot["eos_token"]),
                pad: try Self.tokenContent(configRoot["pad_token"]), unk: try Self.tokenContent(configRoot["unk_token"])
            )
            chatTemplate = try Self.chatTemplate(configRoot["chat_template"])
        }
    }

    /// A special token in `tokenizer_config.json` is a string or an `AddedToken` object with `content`.
    private static func tokenContent(_ field: TokenizerJSONField?) throws -> String? {
        guard let field else { return nil }
        if case .string(let text) = field.value { return text }
        return try field.string("content")
    }

    /// A string, or a list of named templates of which `default` (else the first) is used.
    private static func chatTemplate(_ field: TokenizerJSONField?) throws -> String? {
        guard let field else { return nil }
        if case .string(let text) = field.value { return text }
        let named = try field.array()
        let chosen = try named.first(where: { try $0.optionalString("name") == "default" }) ?? named.first
        return try chosen?.string("template")
    }

    private static func parseModel(_ field: TokenizerJSONField, byteLevel: Bool) throws -> BPEModel {
        let type = try field.optionalString("type") ?? "BPE"
        guard type == "BPE" else {
            throw field.error(
                "model type `\(type)` is not supported: flow reads BPE tokenizers only (byte-level like GPT-2/Llama-3, "
                    + "or SentencePiece-style BPE like Llama-2); WordPiece, WordLevel and Unigram models are not "
                    + "implemented")
        }
        if let dropout = field["dropout"], dropout.value != .int(0), dropout.value != .double(0) {
            throw dropout.error("BPE dropout makes encoding random and is not supported; set it to null")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = try field.optionalString(key), !affix.isEmpty {
                throw try field.required(key).error("\(key) is not supported (BPE with word affixes); expected null")
            }
        }
        let vocabField = try field.required("vocab")
        let vocab = try vocabField.members().map { token, idField in
            let id = try idField.int()
            guard id >= 0 && id < Int(Int32.max) else { throw idField.error("token id \(id) is out of range") }
            return (token, Int32(id))
        }
        let mergesField = field["merges"]
        let mergeEntries = try mergesField?.array() ?? []
        let merges = try mergeEntries.map { entry -> (String, String) in
            switch entry.value {
            case .string(let line):
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw entry.error("expected two tokens separated by one space, found `\(line)`")
                }
                return (String(parts[0]), String(parts[1]))
            case .array(let pair):
                guard pair.count == 2, case .string(let left) = pair[0], case .string(let right) = pair[1] else {
                    throw entry.error("expected a pair of two token strings")
                }
                return (left, right)
            default:
                throw entry.error("expected \"a b\" or [\"a\", \"b\"], found \(entry.value.typeName)")
            }
        }
        return try BPEModel(
            vocab: vocab, merges: merges, unkToken: try field.optionalString("unk_token"),
            fuseUnk: try field.bool("fuse_unk", default: false),
            byteFallback: try field.bool("byte_fallback", default: false),
            ignoreMerges: try field.bool("ignore_merges", default: false), byteLevel: byteLevel,
            mergeError: { index, message in
                TokenizerError(file: field.file, path: "\(field.path).merges[\(index)]", message)
            })
    }
}
