/// Python `str.format` with named fields only (`{instruction}`, `{{` and `}}`), as Axolotl formats prompts.
public struct PromptFormatString: Sendable, Equatable {
    /// The template text.
    public let template: String

    /// A template.
    public init(_ template: String) { self.template = template }

    /// The template with each `{name}` replaced by `values[name]`; an unknown name is an error naming it.
    public func render(_ values: [String: String], context: String) throws -> String {
        var out = ""
        var chars = template.makeIterator()
        var pending: Character? = nil
        func next() -> Character? {
            if let p = pending { pending = nil; return p }
            return chars.next()
        }
        while let c = next() {
            if c == "{" {
                guard let d = next() else { throw unbalanced(context) }
                if d == "{" { out.append("{"); continue }
                var name = String(d)
                while let e = next(), e != "}" { name.append(e) }
                guard let value = values[name] else {
                    throw DatasetError("\(context): format `\(template)` uses `{\(name)}`, which is not one of \(values.keys.sorted().map { "{\($0)}" }.joined(separator: ", ")); write `{{` for a literal brace")
                }
                out += value
            } else if c == "}" {
                guard let d = next(), d == "}" else { throw unbalanced(context) }
                out.append("}")
            } else {
                out.append(c)
            }
        }
        return out
    }

    private func unbalanced(_ context: String) -> DatasetError {
        DatasetError("\(context): format `\(template)` has an unmatched brace; write `{{` or `}}` for a literal one")
    }
}
