import FlowLLM

/// A small, exact tokenizer for data tests: one id per UTF-8 byte (id = byte value), plus special and
/// added tokens (ids from 256) recognised in text leftmost-longest, and BOS prepended when asked.
struct DatasetTestTokenizer: PromptTokenizer {
    static let specials = ["<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>",
                           "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    /// Tokens added like Axolotl's `tokens:` (not special: kept by decode).
    let addedTokens: [String]
    let chatTemplate: String?
    let bosTokenID: Int32?
    let eosTokenID: Int32?
    /// Special and added tokens by first byte, longest first, for leftmost-longest matching.
    private let tokensByFirstByte: [UInt8: [(id: Int32, bytes: [UInt8])]]

    init(addedTokens: [String] = [], chatTemplate: String? = nil, bos: String? = "<s>", eos: String? = "</s>") {
        self.addedTokens = addedTokens
        self.chatTemplate = chatTemplate
        let vocabulary = Self.specials + addedTokens
        bosTokenID = bos.flatMap { b in vocabulary.firstIndex(of: b).map { Int32(256 + $0) } }
        eosTokenID = eos.flatMap { e in vocabulary.firstIndex(of: e).map { Int32(256 + $0) } }
        var index: [UInt8: [(id: Int32, bytes: [UInt8])]] = [:]
        for (i, token) in vocabulary.enumerated() {
            let bytes = Array(token.utf8)
            index[bytes[0], default: []].append((Int32(256 + i), bytes))
        }
        tokensByFirstByte = index.mapValues { $0.sorted { $0.bytes.count > $1.bytes.count } }
    }

    var vocabulary: [String] { Self.specials + addedTokens }
    var padTokenID: Int32? { id(forToken: "<pad>") }
    var bosToken: String? { bosTokenID.map { vocabulary[Int($0) - 256] } }
    var eosToken: String? { eosTokenID.map { vocabulary[Int($0) - 256] } }
    var contentDigest: String { "bytes-v1:" + vocabulary.joined(separator: "\u{1}") }

    func id(forToken token: String) -> Int32? {
        if let i = vocabulary.firstIndex(of: token) { return Int32(256 + i) }
        let bytes = Array(token.utf8)
        return bytes.count == 1 ? Int32(bytes[0]) : nil
    }

    func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        var ids: [Int32] = addSpecialTokens ? (bosTokenID.map { [$0] } ?? []) : []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let match = tokensByFirstByte[bytes[i]]?.first { t in
                i + t.bytes.count <= bytes.count && bytes[i..<i + t.bytes.count].elementsEqual(t.bytes)
            }
            if let match { ids.append(match.id); i += match.bytes.count } else { ids.append(Int32(bytes[i])); i += 1 }
        }
        return ids
    }

    func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        var out: [UInt8] = []
        for id in ids {
            if id < 256 { out.append(UInt8(id)); continue }
            let index = Int(id) - 256
            guard index < vocabulary.count else { continue }
            if skipSpecialTokens && index < Self.specials.count { continue }
            out += Array(vocabulary[index].utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
