/// UTF-8 decoding and the character classes the split regexes use (`\p{L}`, `\p{N}`, `\s`), on raw bytes so the
/// hot path never builds `Character`s.
enum TokenizerUnicode {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    /// The `regex` crate's `\w` (Alphabetic, marks, decimal digits, connector punctuation, joiners), which decides
    /// whether a `single_word` added token touches a word.
    static let wordCharacter: UInt8 = 8

    /// Classes of every scalar in the Basic Multilingual Plane, computed once.
    private static let bmpClasses: [UInt8] = (0..<0x10000).map { value in
        guard let scalar = Unicode.Scalar(UInt32(value)) else { return 0 }
        return computeClasses(scalar)
    }

    private static func computeClasses(_ scalar: Unicode.Scalar) -> UInt8 {
        let properties = scalar.properties
        var classes: UInt8 = 0
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            classes |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            classes |= number
        default: break
        }
        if properties.isWhitespace { classes |= whitespace }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            classes |= wordCharacter
        default:
            if properties.isAlphabetic || properties.isJoinControl { classes |= wordCharacter }
        }
        return classes
    }

    @inline(__always)
    static func classes(of scalar: UInt32) -> UInt8 {
        if scalar < 0x10000 { return bmpClasses[Int(scalar)] }
        guard let value = Unicode.Scalar(scalar) else { return 0 }
        return computeClasses(value)
    }

    /// Decodes the scalar starting at `index`; invalid bytes decode as U+FFFD of length 1 (input comes from a
    /// Swift `String`, so this only guards against misuse).
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (scalar: UInt32, length: Int) {
        let b0 = UInt32(bytes[index])
        if b0 < 0x80 { return (b0, 1) }
        let count = bytes.count
        if b0 >= 0xF0, index + 3 < count {
            let value =
                (b0 & 0x07) << 18 | (UInt32(bytes[index + 1]) & 0x3F) << 12
                | (UInt32(bytes[index + 2]) & 0x3F) << 6 | (UInt32(bytes[index + 3]) & 0x3F)
            return (value, 4)
        }
        if b0 >= 0xE0, index + 2 < count {
            let value = (b0 & 0x0F) << 12 | (UInt32(bytes[index + 1]) & 0x3F) << 6 | (UInt32(bytes[index + 2]) & 0x3F)
            return (value, 3)
        }
        if b0 >= 0xC0, index + 1 < count {
            return ((b0 & 0x1F) << 6 | (UInt32(bytes[index + 1]) & 0x3F), 2)
        }
        return (0xFFFD, 1)
    }

    /// The length in bytes of the UTF-8 sequence that starts with `byte`.
    @inline(__always)
    static func sequenceLength(_ byte: UInt8) -> Int {
        byte < 0x80 ? 1 : byte < 0xE0 ? 2 : byte < 0xF0 ? 3 : 4
    }

    /// Whether the last scalar of `bytes[..<end]` has `mask` (used for added tokens' `single_word` and `lstrip`).
    static func lastScalar(_ bytes: UnsafeBufferPointer<UInt8>, before end: Int) -> (scalar: UInt32, start: Int)? {
        guard end > 0 else { return nil }
        var start = end - 1
        while start > 0, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        return (decode(bytes, at: start).scalar, start)
    }
}

/// GPT-2's mapping of the 256 byte values to printable characters, which byte-level BPE vocabularies are written in.
enum ByteLevelAlphabet {
    /// The scalar that stands for each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each mapped scalar stands for.
    static let byteForScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (byte, scalar) in scalarForByte.enumerated() { map[scalar] = UInt8(byte) }
        return map
    }()

    /// The byte-level spelling of raw bytes.
    static func encode<S: Sequence<UInt8>>(_ bytes: S) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(Unicode.Scalar(scalarForByte[Int(byte)]) ?? "\u{FFFD}") }
        return String(scalars)
    }

    /// The raw bytes of a byte-level spelled token, or nil if a character is outside the alphabet.
    static func decode(_ token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            guard let byte = byteForScalar[scalar.value] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
