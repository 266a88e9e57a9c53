/// Turns generated token ids into text a piece at a time, so that the pieces join to exactly
/// `tokenizer.decode(ids, skipSpecialTokens: true)`'s text for ordinary tokenizers and valid UTF-8 (invalid bytes
/// may decode differently once later bytes join them; the stream then goes on from the new text's length).
///
/// Decoding one token alone is wrong for byte-level and SentencePiece tokenizers (a character split over
/// tokens, a leading space a decoder strips), so, as text-generation-inference does, it decodes a short
/// window twice — with and without the new tokens — and releases the difference, holding back text that
/// still ends in an incomplete character (U+FFFD).
struct IncrementalDetokenizer {
    let tokenizer: Tokenizer
    private(set) var ids: [Int32] = []
    private var prefixOffset = 0
    private var readOffset = 0

    init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }

    /// Adds `id` and returns the text it completes (possibly empty).
    mutating func append(_ id: Int32) -> String {
        ids.append(id)
        let before = tokenizer.decode(Array(ids[prefixOffset..<readOffset]), skipSpecialTokens: true)
        let after = tokenizer.decode(Array(ids[prefixOffset...]), skipSpecialTokens: true)
        guard after.unicodeScalars.count > before.unicodeScalars.count, !after.hasSuffix("\u{FFFD}") else { return "" }
        prefixOffset = readOffset
        readOffset = ids.count
        if after.utf8.starts(with: before.utf8) { return String(after.utf8.dropFirst(before.utf8.count)) ?? "" }
        // The new tokens changed how earlier ones decode (byte-fallback bytes are decoded as one group, so an
        // invalid byte turns a released "\n" before it into U+FFFD): release what lies past the old text's length,
        // as text-generation-inference does, rather than hold everything back until the end.
        return String(String.UnicodeScalarView(after.unicodeScalars.dropFirst(before.unicodeScalars.count)))
    }

    /// Whatever is still held back (an incomplete character at the end), released when generation ends.
    mutating func flush() -> String {
        let before = tokenizer.decode(Array(ids[prefixOffset..<readOffset]), skipSpecialTokens: true)
        let after = tokenizer.decode(Array(ids[prefixOffset...]), skipSpecialTokens: true)
        prefixOffset = ids.count
        readOffset = ids.count
        guard after.utf8.count > before.utf8.count, after.utf8.starts(with: before.utf8) else { return "" }
        return String(after.utf8.dropFirst(before.utf8.count)) ?? ""
    }
}
