/// How a `Split` pre-tokenizer treats the matches of its pattern (`SplitDelimiterBehavior` in `tokenizers`).
enum TokenizerSplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Splits `0..<count` at `matches` (sorted, non-overlapping) into the non-empty pieces this behaviour keeps.
    func pieces(count: Int, matches: [Range<Int>], invert: Bool = false) -> [Range<Int>] {
        if count == 0 { return [] }
        // Every byte belongs to exactly one (range, isMatch) entry.
        var marked: [(Range<Int>, Bool)] = []
        marked.reserveCapacity(matches.count * 2 + 1)
        var last = 0
        for match in matches {
            if last < match.lowerBound { marked.append((last..<match.lowerBound, invert)) }
            marked.append((match, !invert))
            last = match.upperBound
        }
        if last < count { marked.append((last..<count, invert)) }

        var out: [Range<Int>] = []
        out.reserveCapacity(marked.count)
        switch self {
        case .removed:
            out = marked.filter { !$0.1 }.map(\.0)
        case .isolated:
            out = marked.map(\.0)
        case .mergedWithPrevious:
            var previousMatch = false
            for (range, isMatch) in marked {
                if isMatch && !previousMatch, let tail = out.last {
                    out[out.count - 1] = tail.lowerBound..<range.upperBound
                } else {
                    out.append(range)
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (range, isMatch) in marked.reversed() {
                if isMatch && !previousMatch, let head = out.last {
                    out[out.count - 1] = range.lowerBound..<head.upperBound
                } else {
                    out.append(range)
                }
                previousMatch = isMatch
            }
            out.reverse()
        case .contiguous:
            var previousMatch = false
            for (range, isMatch) in marked {
                if isMatch == previousMatch, let tail = out.last {
                    out[out.count - 1] = tail.lowerBound..<range.upperBound
                } else {
                    out.append(range)
                }
                previousMatch = isMatch
            }
        }
        return out.filter { !$0.isEmpty }
    }
}

/// When `Metaspace` adds its replacement character in front of a piece.
enum MetaspacePrependScheme: String, Sendable {
    case always, first, never
}

/// A `tokenizer.json` pre-tokenizer: splits normalized text into the words the model encodes one by one.
indirect enum TokenizerPreTokenizer: Sendable {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(TokenizerSplitPattern, TokenizerSplitBehavior, invert: Bool)
    case metaspace(replacement: [UInt8], prependScheme: MetaspacePrependScheme, split: Bool)
    case digits(individual: Bool)
    case whitespaceSplit
    case sequence([TokenizerPreTokenizer])

    static func parse(_ field: TokenizerJSONField) throws -> TokenizerPreTokenizer {
        let type = try field.typeTag()
        switch type {
        case "ByteLevel":
            return .byteLevel(
                addPrefixSpace: try field.bool("add_prefix_space", default: true),
                useRegex: try field.bool("use_regex", default: true))
        case "Split":
            let behaviorName = try field.string("behavior")
            guard let behavior = TokenizerSplitBehavior(rawValue: behaviorName) else {
                throw try field.required("behavior").error("unknown split behavior `\(behaviorName)`")
            }
            return .split(
                try TokenizerSplitPattern.parse(field.required("pattern")), behavior,
                invert: try field.bool("invert", default: false))
        case "Metaspace":
            let replacement = try field.optionalString("replacement") ?? "\u{2581}"
            var scheme = MetaspacePrependScheme.always
            if let name = try field.optionalString("prepend_scheme") {
                guard let parsed = MetaspacePrependScheme(rawValue: name) else {
                    throw try field.required("prepend_scheme").error("expected always, first or never")
                }
                scheme = parsed
            } else if let addPrefixSpace = try field["add_prefix_space"]?.bool() {
                scheme = addPrefixSpace ? .always : .never  // files written before prepend_scheme existed
            }
            return .metaspace(
                replacement: Array(replacement.utf8), prependScheme: scheme,
                split: try field.bool("split", default: true))
        case "Digits":
            return .digits(individual: try field.bool("individual_digits", default: false))
        case "WhitespaceSplit":
            return .whitespaceSplit
        case "Sequence":
            let steps = try field.required("pretokenizers").array()
            let parsed = try steps.map(parse)
            for (index, step) in parsed.enumerated() where step.isByteLevel && index != parsed.count - 1 {
                throw steps[index].error("a ByteLevel pre-tokenizer is only supported as the last one of a Sequence")
            }
            return .sequence(parsed)
        default:
            throw field.error(
                "pre-tokenizer type `\(type)` is not supported (supported: ByteLevel, Split, Metaspace, Digits, "
                    + "WhitespaceSplit, Sequence)")
        }
    }

    /// Whether words come out as raw bytes the model must read through the byte-level alphabet.
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let steps): return steps.last?.isByteLevel ?? false
        default: return false
        }
    }

    /// Calls `body` with each non-empty word of `bytes`, and whether the word starts the original text (for
    /// Metaspace's `prepend_scheme: first`).
    func forEachWord(
        _ bytes: UnsafeBufferPointer<UInt8>, isFirst: Bool, _ body: (UnsafeBufferPointer<UInt8>, Bool) -> Void
    ) {
        if bytes.isEmpty { return }
        switch self {
        case .sequence(let steps):
            // Llama-3's Split + ByteLevel(no regex, no prefix space): the split's words go straight to the model.
            if steps.count == 2, case .split(let pattern, .isolated, false) = steps[0], pattern.llamaStyleDigits != nil,
                case .byteLevel(false, false) = steps[1]
            {
                return steps[0].forEachWord(bytes, isFirst: isFirst, body)
            }
            Self.run(steps[...], bytes, isFirst, body)
        case .byteLevel(let addPrefixSpace, let useRegex):
            if addPrefixSpace && bytes[0] != 0x20 {
                let prefixed = [0x20] + Array(bytes)
                prefixed.withUnsafeBufferPointer { Self.byteLevelWords($0, useRegex, isFirst, body) }
            } else {
                Self.byteLevelWords(bytes, useRegex, isFirst, body)
            }
        case .split(let pattern, let behavior, let invert):
            // Llama-3's (and Qwen2's) regex matches every character, so its matches are the words (no range arrays needed).
            if let digits = pattern.llamaStyleDigits, behavior == .isolated, !invert {
                var index = 0
                while index < bytes.count {
                    let end = TokenizerSplitPattern.llama3Match(bytes, at: index, maxDigits: digits)
                    body(UnsafeBufferPointer(rebasing: bytes[index..<end]), isFirst && index == 0)
                    index = end
                }
                return
            }
            let pieces = behavior.pieces(count: bytes.count, matches: pattern.matches(in: bytes), invert: invert)
            Self.emit(pieces, bytes, isFirst, body)
        case .metaspace(let replacement, let scheme, let split):
            var replaced: [UInt8] = []
            replaced.reserveCapacity(bytes.count + replacement.count * 4)
            for byte in bytes {
                if byte == 0x20 { replaced.append(contentsOf: replacement) } else { replaced.append(byte) }
            }
            let startsWithReplacement = replaced.starts(with: replacement)
            if !startsWithReplacement && (scheme == .always || (scheme == .first && isFirst)) {
                replaced.insert(contentsOf: replacement, at: 0)
            }
            replaced.withUnsafeBufferPointer { buffer in
                if split {
                    let matches = TokenizerSplitPattern.literal(replacement).matches(in: buffer)
                    let pieces = TokenizerSplitBehavior.mergedWithNext.pieces(count: buffer.count, matches: matches)
                    Self.emit(pieces, buffer, isFirst, body)
                } else {
                    body(buffer, isFirst)
                }
            }
        case .digits(let individual):
            // `tokenizers` splits on `char::is_numeric` (any Unicode number: Nd, Nl, No).
            let matches = Self.scalars(in: bytes, withClass: TokenizerUnicode.number)
            let behavior: TokenizerSplitBehavior = individual ? .isolated : .contiguous
            Self.emit(behavior.pieces(count: bytes.count, matches: matches), bytes, isFirst, body)
        case .whitespaceSplit:
            let matches = Self.scalars(in: bytes, withClass: TokenizerUnicode.whitespace)
            Self.emit(TokenizerSplitBehavior.removed.pieces(count: bytes.count, matches: matches), bytes, isFirst, body)
        }
    }

    /// The byte ranges of the scalars of `bytes` that have the class `mask`.
    private static func scalars(in bytes: UnsafeBufferPointer<UInt8>, withClass mask: UInt8) -> [Range<Int>] {
        var matches: [Range<Int>] = []
        var i = 0
        while i < bytes.count {
            let (scalar, length) = TokenizerUnicode.decode(bytes, at: i)
            if TokenizerUnicode.classes(of: scalar) & mask != 0 { matches.append(i..<i + length) }
            i += length
        }
        return matches
    }

    private static func run(
        _ steps: ArraySlice<TokenizerPreTokenizer>, _ bytes: UnsafeBufferPointer<UInt8>, _ isFirst: Bool,
        _ body: (UnsafeBufferPointer<UInt8>, Bool) -> Void
    ) {
        guard let step = steps.first else { return body(bytes, isFirst) }
        step.forEachWord(bytes, isFirst: isFirst) { word, wordIsFirst in
            run(steps.dropFirst(), word, wordIsFirst, body)
        }
    }

    private static func byteLevelWords(
        _ bytes: UnsafeBufferPointer<UInt8>, _ useRegex: Bool, _ isFirst: Bool,
        _ body: (UnsafeBufferPointer<UInt8>, Bool) -> Void
    ) {
        guard useRegex else { return body(bytes, isFirst) }
        // The GPT-2 regex matches every character, so its matches are the words.
        var index = 0
        while index < bytes.count {
            let end = TokenizerSplitPattern.gpt2Match(bytes, at: index)
            body(UnsafeBufferPointer(rebasing: bytes[index..<end]), isFirst && index == 0)
            index = end
        }
    }

    private static func emit(
        _ pieces: [Range<Int>], _ bytes: UnsafeBufferPointer<UInt8>, _ isFirst: Bool,
        _ body: (UnsafeBufferPointer<UInt8>, Bool) -> Void
    ) {
        for piece in pieces {
            body(UnsafeBufferPointer(rebasing: bytes[piece]), isFirst && piece.lowerBound == 0)
        }
    }
}
