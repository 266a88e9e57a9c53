import Foundation

/// What a `Split` pre-tokenizer (or `Replace` normalizer) looks for: the GPT-2, Llama-3 and Qwen2 regexes are matched
/// by hand-written code (they run on every word), a literal string by byte search, any other regex by
/// `NSRegularExpression`.
enum TokenizerSplitPattern: @unchecked Sendable {
    case gpt2
    case llama3
    /// Llama-3's regex with single digits (`\p{N}` instead of `\p{N}{1,3}`), as Qwen2 uses it.
    case qwen2
    case literal([UInt8])
    case regex(NSRegularExpression)

    static let gpt2Source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Source =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Source =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// For the Llama-3-style patterns, how many digits one word may hold; nil for the others.
    var llamaStyleDigits: Int? {
        switch self {
        case .llama3: return 3
        case .qwen2: return 1
        default: return nil
        }
    }

    /// Reads `{"String": ...}` or `{"Regex": ...}`.
    static func parse(_ field: TokenizerJSONField) throws -> TokenizerSplitPattern {
        if let literal = try field.optionalString("String") { return .literal(Array(literal.utf8)) }
        guard let source = try field.optionalString("Regex") else {
            throw field.error("expected {\"String\": ...} or {\"Regex\": ...}")
        }
        if source == gpt2Source { return .gpt2 }
        if source == llama3Source { return .llama3 }
        if source == qwen2Source { return .qwen2 }
        do {
            return .regex(try NSRegularExpression(pattern: source))
        } catch {
            throw field.error("regex `\(source)` is not supported: \(error)")
        }
    }

    /// The byte ranges of every non-overlapping match in `bytes`, left to right.
    func matches(in bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var result: [Range<Int>] = []
        switch self {
        case .gpt2:
            var index = 0
            while index < bytes.count {
                let end = Self.gpt2Match(bytes, at: index)
                result.append(index..<end)
                index = end
            }
        case .llama3, .qwen2:
            let digits = llamaStyleDigits ?? 3
            var index = 0
            while index < bytes.count {
                let end = Self.llama3Match(bytes, at: index, maxDigits: digits)
                result.append(index..<end)
                index = end
            }
        case .literal(let needle):
            guard !needle.isEmpty, bytes.count >= needle.count else { return [] }
            var index = 0
            while index + needle.count <= bytes.count {
                if bytes[index] == needle[0] && (1..<needle.count).allSatisfy({ bytes[index + $0] == needle[$0] }) {
                    result.append(index..<index + needle.count)
                    index += needle.count
                } else {
                    index += 1
                }
            }
        case .regex(let regex):
            let text = String(decoding: bytes, as: UTF8.self)
            // NSRegularExpression reports UTF-16 offsets; map them back to UTF-8 offsets.
            var utf8Offset = [Int](repeating: 0, count: text.utf16.count + 1)
            var u16 = 0
            var u8 = 0
            for scalar in text.unicodeScalars {
                let width16 = scalar.value >= 0x10000 ? 2 : 1
                for k in 0..<width16 { utf8Offset[u16 + k] = u8 }
                u16 += width16
                u8 += String(scalar).utf8.count
            }
            utf8Offset[u16] = u8
            for match in regex.matches(in: text, range: NSRange(location: 0, length: u16)) where match.range.length > 0
            {
                result.append(utf8Offset[match.range.location]..<utf8Offset[match.range.location + match.range.length])
            }
        }
        return result
    }

    // MARK: Hand-written regexes (leftmost-first alternation, as Oniguruma matches them)

    private typealias Classes = TokenizerUnicode

    @inline(__always)
    private static func classAt(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> (UInt8, Int) {
        let byte = bytes[index]
        if byte < 0x80 { return (asciiClasses[Int(byte)], 1) }
        let (scalar, length) = Classes.decode(bytes, at: index)
        return (Classes.classes(of: scalar), length)
    }

    private static let asciiClasses: [UInt8] = (0..<128).map { Classes.classes(of: UInt32($0)) }

    /// End of the run of characters starting at `index` whose classes satisfy `accept`.
    @inline(__always)
    private static func run(_ bytes: UnsafeBufferPointer<UInt8>, from index: Int, _ accept: (UInt8) -> Bool) -> Int {
        var i = index
        while i < bytes.count {
            let (classes, length) = classAt(bytes, i)
            if !accept(classes) { break }
            i += length
        }
        return i
    }

    @inline(__always) private static func isLetter(_ c: UInt8) -> Bool { c & Classes.letter != 0 }
    @inline(__always) private static func isNumber(_ c: UInt8) -> Bool { c & Classes.number != 0 }
    @inline(__always) private static func isSpace(_ c: UInt8) -> Bool { c & Classes.whitespace != 0 }
    @inline(__always) private static func isOther(_ c: UInt8) -> Bool {
        c & (Classes.letter | Classes.number | Classes.whitespace) == 0
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d`, optionally case-insensitive (which, as in Oniguruma, lets `s` match `ſ`).
    private static func contraction(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, ignoreCase: Bool) -> Int? {
        guard bytes[index] == UInt8(ascii: "'"), index + 1 < bytes.count else { return nil }
        func lower(_ i: Int) -> (UInt8, Int)? {
            guard i < bytes.count else { return nil }
            let byte = bytes[i]
            if !ignoreCase { return (byte, 1) }
            if byte >= 0x41 && byte <= 0x5A { return (byte | 0x20, 1) }
            if byte == 0xC5, i + 1 < bytes.count, bytes[i + 1] == 0xBF { return (UInt8(ascii: "s"), 2) }  // ſ
            return (byte, 1)
        }
        guard let (first, firstLength) = lower(index + 1) else { return nil }
        switch first {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return index + 1 + firstLength
        case UInt8(ascii: "r"), UInt8(ascii: "v"), UInt8(ascii: "l"):
            let want: UInt8 = first == UInt8(ascii: "l") ? UInt8(ascii: "l") : UInt8(ascii: "e")
            if let (second, secondLength) = lower(index + 2), second == want { return index + 2 + secondLength }
            return nil
        default: return nil
        }
    }

    /// `\s+(?!\S)|\s+` for the whitespace run starting at `index` (the caller knows `bytes[index]` is whitespace).
    private static func whitespaceMatch(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let end = run(bytes, from: index, isSpace)
        if end == bytes.count { return end }
        // Back off one character so the next word keeps its leading space, unless that would leave nothing.
        var lastStart = end - 1
        while bytes[lastStart] & 0xC0 == 0x80 { lastStart -= 1 }
        return lastStart > index ? lastStart : end
    }

    /// The end of the GPT-2 regex's match at `index` (every character starts a match).
    static func gpt2Match(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        if let end = contraction(bytes, at: index, ignoreCase: false) { return end }
        let (classes, _) = classAt(bytes, index)
        var start = index
        var first = classes
        if bytes[index] == 0x20, index + 1 < bytes.count {
            let (next, _) = classAt(bytes, index + 1)
            if !isSpace(next) {
                start = index + 1
                first = next
            }
        }
        if isLetter(first) { return run(bytes, from: start, isLetter) }
        if isNumber(first) { return run(bytes, from: start, isNumber) }
        if isOther(first) { return run(bytes, from: start, isOther) }
        return whitespaceMatch(bytes, at: index)
    }

    /// The end of the Llama-3 regex's match at `index` (every character starts a match); `maxDigits` is 1 for Qwen2.
    static func llama3Match(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, maxDigits: Int = 3) -> Int {
        if let end = contraction(bytes, at: index, ignoreCase: true) { return end }
        let (classes, length) = classAt(bytes, index)
        let byte = bytes[index]
        let isNewline = byte == 0x0A || byte == 0x0D
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if isLetter(classes) { return run(bytes, from: index, isLetter) }
        if !isNewline && !isNumber(classes), index + length < bytes.count {
            let (next, _) = classAt(bytes, index + length)
            if isLetter(next) { return run(bytes, from: index + length, isLetter) }
        }
        // \p{N}{1,3} (or \p{N} for Qwen2)
        if isNumber(classes) {
            var end = index + length
            for _ in 0..<(maxDigits - 1) where end < bytes.count {
                let (next, nextLength) = classAt(bytes, end)
                if !isNumber(next) { break }
                end += nextLength
            }
            return end
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var otherStart = -1
        if isOther(classes) {
            otherStart = index
        } else if byte == 0x20, index + 1 < bytes.count, isOther(classAt(bytes, index + 1).0) {
            otherStart = index + 1
        }
        if otherStart >= 0 {
            var end = run(bytes, from: otherStart, isOther)
            while end < bytes.count, bytes[end] == 0x0A || bytes[end] == 0x0D { end += 1 }
            return end
        }
        // `\s*[\r\n]+`: the whitespace run up to and including its last line break.
        let runEnd = run(bytes, from: index, isSpace)
        var lastBreak = -1
        var i = index
        while i < runEnd {
            if bytes[i] == 0x0A || bytes[i] == 0x0D { lastBreak = i }
            i += TokenizerUnicode.sequenceLength(bytes[i])
        }
        if lastBreak >= 0 { return lastBreak + 1 }
        return whitespaceMatch(bytes, at: index)
    }
}
