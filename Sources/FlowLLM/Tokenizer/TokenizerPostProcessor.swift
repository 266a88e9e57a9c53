/// A `tokenizer.json` post-processor: adds the special tokens (BOS/EOS templates) around an encoded sequence.
indirect enum TokenizerPostProcessor: Sendable {
    /// `TemplateProcessing`'s `single` template: special-token ids and the sequence's place (`nil`).
    case template([[Int32]?])
    /// `ByteLevel` only adjusts offsets, which flow does not report, so it leaves ids alone.
    case byteLevel
    case sequence([TokenizerPostProcessor])

    static func parse(_ field: TokenizerJSONField) throws -> TokenizerPostProcessor {
        let type = try field.typeTag()
        switch type {
        case "TemplateProcessing":
            var specialIDs: [String: [Int32]] = [:]
            if let specials = field["special_tokens"] {
                for (name, special) in try specials.members() {
                    specialIDs[name] = try special.required("ids").array().map { Int32(try $0.int()) }
                }
            }
            let pieces = try field.required("single").array()
            return .template(
                try pieces.map { piece in
                    if let special = piece["SpecialToken"] {
                        let name = try special.string("id")
                        guard let ids = specialIDs[name] else {
                            throw special.error(
                                "special token `\(name)` is not listed in post_processor.special_tokens")
                        }
                        return ids
                    }
                    guard piece["Sequence"] != nil else { throw piece.error("expected SpecialToken or Sequence") }
                    return nil
                })
        case "BertProcessing", "RobertaProcessing":
            // `sep` and `cls` are [token, id] pairs: cls + sequence + sep.
            func id(_ key: String) throws -> Int32 {
                let pair = try field.required(key).array()
                guard pair.count == 2 else { throw try field.required(key).error("expected [token, id]") }
                return Int32(try pair[1].int())
            }
            return .template([[try id("cls")], nil, [try id("sep")]])
        case "ByteLevel":
            return .byteLevel
        case "Sequence":
            return .sequence(try field.required("processors").array().map(parse))
        default:
            throw field.error(
                "post-processor type `\(type)` is not supported (supported: TemplateProcessing, BertProcessing, "
                    + "RobertaProcessing, ByteLevel, Sequence)")
        }
    }

    /// The ids with this processor's special tokens added around them.
    func process(_ ids: [Int32]) -> [Int32] {
        switch self {
        case .template(let pieces):
            var out: [Int32] = []
            out.reserveCapacity(ids.count + pieces.count)
            for piece in pieces {
                if let special = piece { out.append(contentsOf: special) } else { out.append(contentsOf: ids) }
            }
            return out
        case .byteLevel:
            return ids
        case .sequence(let steps):
            return steps.reduce(ids) { $1.process($0) }
        }
    }
}
