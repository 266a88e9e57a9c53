/// A `tokenizer.json` decoder: turns token strings back into text.
indirect enum TokenizerDecoder: Sendable {
    case byteLevel
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(TokenizerSplitPattern, with: String)
    case metaspace(replacement: Unicode.Scalar, prependScheme: MetaspacePrependScheme)
    case sequence([TokenizerDecoder])

    static func parse(_ field: TokenizerJSONField) throws -> TokenizerDecoder {
        let type = try field.typeTag()
        switch type {
        case "ByteLevel": return .byteLevel
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            let content = try field.string("content")
            guard content.unicodeScalars.count == 1, let scalar = content.unicodeScalars.first else {
                throw try field.required("content").error("expected a single character")
            }
            return .strip(content: scalar, start: try field.int("start"), stop: try field.int("stop"))
        case "Replace":
            return .replace(
                try TokenizerSplitPattern.parse(field.required("pattern")), with: try field.string("content"))
        case "Metaspace":
            let replacement = try field.optionalString("replacement") ?? "\u{2581}"
            guard replacement.unicodeScalars.count == 1, let scalar = replacement.unicodeScalars.first else {
                throw try field.required("replacement").error("expected a single character")
            }
            var scheme = MetaspacePrependScheme.always
            if let name = try field.optionalString("prepend_scheme") {
                scheme = MetaspacePrependScheme(rawValue: name) ?? .always
            } else if let addPrefixSpace = try field["add_prefix_space"]?.bool(), !addPrefixSpace {
                scheme = .never
            }
            return .metaspace(replacement: scalar, prependScheme: scheme)
        case "Sequence":
            return .sequence(try field.required("decoders").array().map(parse))
        default:
            throw field.error(
                "decoder type `\(type)` is not supported (supported: ByteLevel, ByteFallback, Fuse, Strip, Replace, "
                    + "Metaspace, Sequence)")
        }
    }

    /// `decode_chain` of `tokenizers`: each decoder maps the list of token strings to a new list.
    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .sequence(let steps):
            return steps.reduce(tokens) { $1.decodeChain($0) }
        case .fuse:
            return [tokens.joined()]
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                // A token with characters outside the alphabet (an added token, say) contributes its UTF-8 bytes.
                if let raw = ByteLevelAlphabet.decode(token) {
                    bytes.append(contentsOf: raw)
                } else {
                    bytes.append(contentsOf: token.utf8)
                }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let text = String(validating: pending, as: UTF8.self) {
                    out.append(text)
                } else {
                    out.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
                }
                pending.removeAll()
            }
            for token in tokens {
                let utf8 = Array(token.utf8)
                if utf8.count == 6, utf8.starts(with: Array("<0x".utf8)), utf8[5] == UInt8(ascii: ">"),
                    let byte = UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
                {
                    pending.append(byte)
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                let scalars = Array(token.unicodeScalars)
                var startCut = 0
                for i in 0..<min(start, scalars.count) {
                    if scalars[i] == content { startCut = i + 1 } else { break }
                }
                var stopCut = scalars.count
                for i in 0..<min(stop, scalars.count) {
                    let index = scalars.count - i - 1
                    if scalars[index] == content { stopCut = index } else { break }
                }
                var view = String.UnicodeScalarView()
                if startCut < stopCut { view.append(contentsOf: scalars[startCut..<stopCut]) }
                return String(view)
            }
        case .replace(let pattern, let content):
            let replacement = Array(content.utf8)
            return tokens.map { token in
                String(
                    decoding: TokenizerNormalizer.replace(pattern, with: replacement).apply(Array(token.utf8)),
                    as: UTF8.self)
            }
        case .metaspace(let replacement, let scheme):
            return tokens.enumerated().map { index, token in
                var view = String.UnicodeScalarView()
                for scalar in token.unicodeScalars {
                    if scalar == replacement {
                        // The first token loses every replacement character, as in `tokenizers`.
                        if index == 0 && scheme != .never { continue }
                        view.append(" ")
                    } else {
                        view.append(scalar)
                    }
                }
                return String(view)
            }
        }
    }
}
