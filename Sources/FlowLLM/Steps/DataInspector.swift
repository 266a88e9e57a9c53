import Foundation

/// Renders prepared examples token by token: trained tokens told apart from masked ones, token boundaries and
/// special tokens visible; ANSI styling on a terminal, plain markers otherwise.
public struct DataInspector: Sendable {
    public let dataset: PreparedDataset
    public let tokenizer: Tokenizer?

    /// Opens a prepared dataset directory (its tokenizer copy too, when present).
    public init(directory: URL) throws {
        dataset = try PreparedDataset(directory: directory)
        let tok = directory.appendingPathComponent("tokenizer", isDirectory: true)
        tokenizer = FileManager.default.fileExists(atPath: tok.appendingPathComponent("tokenizer.json").path)
            ? try Tokenizer(directory: tok) : nil
    }

    /// The first `count` examples of a split (from `start`), rendered.
    public func render(split: String = "train", start: Int = 0, count: Int = 3, color: Bool) -> String {
        let s = split == "eval" ? dataset.eval : dataset.train
        var out = ""
        let end = min(s.exampleCount, start + count)
        if start >= end { return "the \(split) split has \(s.exampleCount) examples\n" }
        for i in start..<end {
            let ex = s.example(i)
            let trained = ex.labels.filter { $0 != -100 }.count
            out += "── \(split) example \(i) (line \(ex.sourceLine)): \(ex.inputIDs.count) tokens, \(trained) trained\n"
            out += render(ids: ex.inputIDs, labels: ex.labels, color: color) + "\n"
        }
        if !color { out += "legend: {-masked-} {+trained+}, tokens separated by |\n" }
        return out
    }

    func render(ids: [Int32], labels: [Int32], color: Bool) -> String {
        var out = ""
        var currentTrained: Bool?
        // Each token's text is what it adds to the decoded prefix, so spaces a lone token would lose stay visible.
        var previous = ""
        for (k, id) in ids.enumerated() {
            let trained = k < labels.count && labels[k] != -100
            var piece = "<\(id)>"
            if let tokenizer {
                let decoded = tokenizer.decode(Array(ids[...k]), skipSpecialTokens: false)
                piece = decoded.hasPrefix(previous) ? String(decoded.dropFirst(previous.count))
                    : tokenizer.decode([id], skipSpecialTokens: false)
                previous = decoded
            }
            piece = piece.replacingOccurrences(of: "\n", with: "↵\n")
            if color {
                // Alternate two shades so token boundaries show; masked text dim, trained text highlighted.
                let shade = k % 2 == 0
                let style = trained ? (shade ? "1;32" : "1;36") : (shade ? "2" : "2;3")
                out += "\u{1B}[\(style)m\(piece)\u{1B}[0m"
            } else {
                if currentTrained != trained {
                    if let c = currentTrained { out += c ? "+}" : "-}" }
                    out += trained ? "{+" : "{-"
                    currentTrained = trained
                } else {
                    out += "|"
                }
                out += piece
            }
        }
        if !color, let c = currentTrained { out += c ? "+}" : "-}" }
        return out
    }
}
