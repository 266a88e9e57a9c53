/// Finds the text of one step declaration in a workflow file, so a step's cache key covers its own code only.
///
/// From the declaration's line it takes everything up to where the brackets balance again and no modifier
/// (`.needs(...)`, `.timeout(...)`) follows, skipping string literals and comments.
public enum SourceScanner {
    /// The declaration starting at 1-based `line`, or nil if the line is out of range.
    public static func declaration(in source: String, line: Int) -> Range<String.Index>? {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return nil }
        let start = lines[line - 1].startIndex
        var depth = 0
        var opened = false
        var i = start
        let end = source.endIndex
        while i < end {
            let c = source[i]
            let next = source.index(after: i)
            if c == "/" && next < end && source[next] == "/" {
                i = source[i...].firstIndex(of: "\n") ?? end
                continue
            }
            if c == "/" && next < end && source[next] == "*" {
                i = source[next...].range(of: "*/")?.upperBound ?? end
                continue
            }
            if c == "\"" {
                i = skipString(source, from: i)
                continue
            }
            if "({[".contains(c) { depth += 1; opened = true }
            if ")}]".contains(c) { depth -= 1 }
            i = next
            if opened && depth <= 0 && ")}]".contains(c) {
                // A trailing closure or a modifier chain continues the declaration: `) { ctx in`, `}\n    .needs("x")`.
                var j = i
                while j < end, source[j].isWhitespace { j = source.index(after: j) }
                if j < end && (source[j] == "." || source[j] == "{") && depth == 0 { i = j; continue }
                if depth < 0 { return start..<source.index(before: i) }
                return start..<i
            }
        }
        return start..<end
    }

    private static func skipString(_ s: String, from quote: String.Index) -> String.Index {
        // Multi-line literal: """ ... """
        if s[quote...].hasPrefix("\"\"\"") {
            let body = s.index(quote, offsetBy: 3)
            return s[body...].range(of: "\"\"\"")?.upperBound ?? s.endIndex
        }
        var i = s.index(after: quote)
        var interpolation = 0
        while i < s.endIndex {
            let c = s[i]
            if c == "\\" {
                let n = s.index(after: i)
                if n < s.endIndex && s[n] == "(" { interpolation += 1; i = s.index(after: n); continue }
                i = n < s.endIndex ? s.index(after: n) : n
                continue
            }
            if interpolation > 0 {
                if c == "(" { interpolation += 1 } else if c == ")" { interpolation -= 1 }
                i = s.index(after: i)
                continue
            }
            if c == "\"" { return s.index(after: i) }
            if c == "\n" { return i }
            i = s.index(after: i)
        }
        return i
    }

    /// Parameter names a function's text reads: `ctx.name` and `param("name")`.
    public static func parametersRead(in text: Substring, declared: [String]) -> [String] {
        declared.filter { name in
            text.contains(".\(name)") || text.contains("param(\"\(name)\")")
        }
    }
}
