/// A token added on top of the model's vocabulary (`added_tokens` in `tokenizer.json`): split out of the text before
/// the model runs.
struct TokenizerAddedToken: Sendable, Equatable {
    var id: Int32
    var content: String
    var special: Bool
    var singleWord = false
    var lstrip = false
    var rstrip = false
    /// Whether it is matched in normalized text (after the normalizer) rather than in the raw text.
    var normalized: Bool
}

/// The added tokens of a tokenizer and the two matchers `tokenizers` builds from them (raw and normalized text).
struct AddedVocabulary: Sendable {
    private(set) var tokens: [TokenizerAddedToken] = []
    private var indexByContent: [[UInt8]: Int] = [:]
    private var indexByID: [Int32: Int] = [:]
    private(set) var rawMatcher = AddedTokenMatcher(patterns: [])
    private(set) var normalizedMatcher = AddedTokenMatcher(patterns: [])
    /// The normalized spelling of normalized tokens, which is what `id_to_token` and decoding show for them.
    private var normalizedContent: [Int32: String] = [:]

    var isEmpty: Bool { tokens.isEmpty }

    func token(withID id: Int32) -> TokenizerAddedToken? { indexByID[id].map { tokens[$0] } }
    /// The string `tokenizers` gives for an added token's id (normalized tokens in their normalized spelling).
    func tokenString(forID id: Int32) -> String? {
        normalizedContent[id] ?? token(withID: id)?.content
    }

    func id(forContent content: String) -> Int32? { indexByContent[Array(content.utf8)].map { tokens[$0].id } }
    func isSpecial(content: String) -> Bool {
        indexByContent[Array(content.utf8)].map { tokens[$0].special } ?? false
    }

    /// Adds tokens whose ids are already decided (as read from `tokenizer.json`); a later entry with the same content
    /// replaces the earlier one.
    mutating func insert(_ token: TokenizerAddedToken) {
        if let index = indexByContent[Array(token.content.utf8)] {
            indexByID[tokens[index].id] = nil
            tokens[index] = token
            indexByID[token.id] = index
        } else {
            indexByContent[Array(token.content.utf8)] = tokens.count
            indexByID[token.id] = tokens.count
            tokens.append(token)
        }
    }

    /// Rebuilds the matchers; normalized tokens are matched by their normalized spelling, as in `tokenizers`.
    mutating func refreshMatchers(normalizer: TokenizerNormalizer?) {
        var raw: [(bytes: [UInt8], index: Int)] = []
        var normalized: [(bytes: [UInt8], index: Int)] = []
        normalizedContent = [:]
        // `tokenizers` lists special tokens before the others when building its matchers.
        let order = tokens.indices.filter { tokens[$0].special } + tokens.indices.filter { !tokens[$0].special }
        for index in order {
            let token = tokens[index]
            if token.normalized {
                let bytes = Array(token.content.utf8)
                let spelling = normalizer?.apply(bytes) ?? bytes
                normalized.append((spelling, index))
                normalizedContent[token.id] = String(decoding: spelling, as: UTF8.self)
            } else {
                raw.append((Array(token.content.utf8), index))
            }
        }
        rawMatcher = AddedTokenMatcher(patterns: raw)
        normalizedMatcher = AddedTokenMatcher(patterns: normalized)
    }

    /// A piece of text between added tokens, or an added token's id.
    enum Piece {
        case text(Range<Int>)
        case token(Int32)
    }

    /// Splits `bytes` around matches of `matcher`, honouring `single_word`, `lstrip` and `rstrip`
    /// (`AddedVocabulary::find_matches` in `tokenizers`).
    func split(_ bytes: UnsafeBufferPointer<UInt8>, with matcher: AddedTokenMatcher) -> [Piece] {
        if matcher.isEmpty { return bytes.isEmpty ? [] : [.text(0..<bytes.count)] }
        var pieces: [Piece] = []
        var startOffset = 0
        var searchFrom = 0
        while let (matchStart, matchEnd, index) = matcher.nextMatch(in: bytes, from: searchFrom) {
            searchFrom = matchEnd
            let token = tokens[index]
            var start = matchStart
            var stop = matchEnd
            if token.singleWord {
                let startSpace =
                    start == 0 || !Self.isWordCharacter(TokenizerUnicode.lastScalar(bytes, before: start)?.scalar)
                let stopSpace =
                    stop == bytes.count || !Self.isWordCharacter(TokenizerUnicode.decode(bytes, at: stop).scalar)
                if !startSpace || !stopSpace { continue }
            }
            if token.lstrip {
                var newStart = start
                while let (scalar, scalarStart) = TokenizerUnicode.lastScalar(bytes, before: newStart),
                    TokenizerUnicode.classes(of: scalar) & TokenizerUnicode.whitespace != 0
                {
                    newStart = scalarStart
                }
                start = max(newStart, startOffset)
            }
            if token.rstrip {
                while stop < bytes.count {
                    let (scalar, length) = TokenizerUnicode.decode(bytes, at: stop)
                    if TokenizerUnicode.classes(of: scalar) & TokenizerUnicode.whitespace == 0 { break }
                    stop += length
                }
            }
            if startOffset < start { pieces.append(.text(startOffset..<start)) }
            pieces.append(.token(token.id))
            startOffset = stop
        }
        if startOffset < bytes.count { pieces.append(.text(startOffset..<bytes.count)) }
        return pieces
    }

    /// Whether `scalar` is a word character (`\w`), as `tokenizers` checks around `single_word` tokens.
    private static func isWordCharacter(_ scalar: UInt32?) -> Bool {
        guard let scalar else { return false }
        return TokenizerUnicode.classes(of: scalar) & TokenizerUnicode.wordCharacter != 0
    }
}

/// Finds added tokens leftmost-longest, as the Aho-Corasick automaton `tokenizers` builds does.
struct AddedTokenMatcher: Sendable {
    /// Patterns by first byte, longest first; each with the index of its token.
    private var byFirstByte: [[(bytes: [UInt8], index: Int)]]
    let isEmpty: Bool

    init(patterns: [(bytes: [UInt8], index: Int)]) {
        var table = [[(bytes: [UInt8], index: Int)]](repeating: [], count: 256)
        for pattern in patterns where !pattern.bytes.isEmpty { table[Int(pattern.bytes[0])].append(pattern) }
        for i in 0..<256 where table[i].count > 1 {
            // Stable: among equal lengths the earlier pattern wins.
            table[i] = table[i].enumerated().sorted {
                $0.element.bytes.count != $1.element.bytes.count
                    ? $0.element.bytes.count > $1.element.bytes.count : $0.offset < $1.offset
            }.map(\.element)
        }
        byFirstByte = table
        isEmpty = patterns.allSatisfy { $0.bytes.isEmpty }
    }

    /// The leftmost match at or after `from`, longest among those starting there.
    func nextMatch(in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> (start: Int, end: Int, index: Int)? {
        var position = from
        while position < bytes.count {
            let candidates = byFirstByte[Int(bytes[position])]
            for candidate in candidates where position + candidate.bytes.count <= bytes.count {
                var matched = true
                for k in 1..<candidate.bytes.count where bytes[position + k] != candidate.bytes[k] {
                    matched = false
                    break
                }
                if matched { return (position, position + candidate.bytes.count, candidate.index) }
            }
            position += 1
        }
        return nil
    }
}
