import Foundation

/// The `CREATE TABLE` statements found in a text (a row's schema context, or a prompt that quotes it), merged
/// by table name. Text-to-SQL sets such as sql-create-context (sqlqa) write one statement per use of a table,
/// so a table can appear twice with different columns, or list a column twice in different case; SQLite
/// rejects both, so each table is created once with the union of its columns (names compared without case,
/// as SQLite does).
struct SQLSchema: Equatable {
    /// One table: its name as written, its column definitions, then its table constraints.
    struct Table: Equatable {
        var name: String
        var columns: [String]
        var constraints: [String]
    }

    /// The tables in order of first appearance.
    private(set) var tables: [Table] = []

    /// The statements of `text`; text around and between them is ignored.
    init(text: String) {
        var scanner = SQLTextScanner(text)
        while scanner.skip(toKeywords: ["CREATE", "TABLE"]) {
            _ = scanner.keywords(["IF", "NOT", "EXISTS"])
            guard let name = scanner.identifier(), let items = scanner.parenthesizedList() else { continue }
            add(name: name, items: items)
        }
    }

    /// The merged schema as SQL, one `CREATE TABLE` statement per table.
    var sql: String {
        tables.map { "CREATE TABLE \($0.name) (\(($0.columns + $0.constraints).joined(separator: ", ")));" }
            .joined(separator: "\n")
    }

    private mutating func add(name: String, items: [String]) {
        let key = Self.key(name)
        let index = tables.firstIndex { Self.key($0.name) == key } ?? {
            tables.append(Table(name: name, columns: [], constraints: []))
            return tables.count - 1
        }()
        for item in items where !item.isEmpty {
            var scanner = SQLTextScanner(item)
            let first = scanner.identifier() ?? item
            if Self.constraintKeywords.contains(first.uppercased()) {
                if !tables[index].constraints.contains(item) { tables[index].constraints.append(item) }
            } else if !tables[index].columns.contains(where: { Self.columnKey($0) == Self.key(first) }) {
                tables[index].columns.append(item)
            }
        }
    }

    private static let constraintKeywords: Set<String> = ["CONSTRAINT", "PRIMARY", "FOREIGN", "UNIQUE", "CHECK"]

    /// A name compared as SQLite compares identifiers: unquoted, without case.
    private static func key(_ identifier: String) -> String {
        var name = Substring(identifier)
        if let open = name.first, let close = SQLTextScanner.closingQuote(open), name.count >= 2, name.last == close {
            name = name.dropFirst().dropLast()
        }
        return name.lowercased()
    }

    private static func columnKey(_ definition: String) -> String {
        var scanner = SQLTextScanner(definition)
        return key(scanner.identifier() ?? definition)
    }
}

/// A cursor over SQL text that knows identifiers, quotes and nested parentheses: enough to read
/// `CREATE TABLE name (item, item, ...)` out of free text.
struct SQLTextScanner {
    private let text: [Character]
    private var position = 0

    init(_ text: String) { self.text = Array(text) }

    /// The quote character that closes `open` (`"`, `` ` ``, `[`, `'`), or nil for any other character.
    static func closingQuote(_ open: Character) -> Character? {
        switch open {
        case "\"", "`", "'": open
        case "[": "]"
        default: nil
        }
    }

    /// Moves past the next occurrence of `words` as whole words (case-insensitive, separated by whitespace);
    /// false at the end.
    mutating func skip(toKeywords words: [String]) -> Bool {
        while position < text.count {
            let start = position
            if !isWordCharacter(before: start), keywords(words) { return true }
            position = start + 1
        }
        return false
    }

    /// Consumes `words` when they come next (after whitespace); otherwise consumes nothing.
    mutating func keywords(_ words: [String]) -> Bool {
        let start = position
        for word in words {
            skipWhitespace()
            guard let got = bareWord(), got.uppercased() == word else { position = start; return false }
        }
        return true
    }

    /// The next identifier, as written: bare (`a_b`, `main.t`) or quoted with `"`, `` ` `` or `[ ]`.
    mutating func identifier() -> String? {
        skipWhitespace()
        guard position < text.count else { return nil }
        if text[position] != "'", let close = Self.closingQuote(text[position]) {
            let start = position
            position += 1
            while position < text.count, text[position] != close { position += 1 }
            guard position < text.count else { position = start; return nil }
            position += 1
            return String(text[start..<position])
        }
        return bareWord()
    }

    /// The comma-separated items of the parenthesized list that comes next, trimmed; nil when none or unclosed.
    mutating func parenthesizedList() -> [String]? {
        skipWhitespace()
        guard position < text.count, text[position] == "(" else { return nil }
        let start = position
        position += 1
        var items: [String] = [], current = "", depth = 0
        while position < text.count {
            let c = text[position]
            if let close = Self.closingQuote(c) {
                let quoteStart = position
                position += 1
                while position < text.count, text[position] != close { position += 1 }
                current += String(text[quoteStart..<min(position + 1, text.count)])
            } else if c == "(" {
                depth += 1; current.append(c)
            } else if c == ")" && depth > 0 {
                depth -= 1; current.append(c)
            } else if c == ")" {
                position += 1
                items.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
                return items
            } else if c == "," && depth == 0 {
                items.append(current.trimmingCharacters(in: .whitespacesAndNewlines)); current = ""
            } else {
                current.append(c)
            }
            position += 1
        }
        position = start
        return nil
    }

    private mutating func bareWord() -> String? {
        let start = position
        while position < text.count, Self.isWordCharacter(text[position]) { position += 1 }
        return position > start ? String(text[start..<position]) : nil
    }

    private static func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || "_$.".contains(c) }

    private func isWordCharacter(before index: Int) -> Bool { index > 0 && Self.isWordCharacter(text[index - 1]) }

    private mutating func skipWhitespace() {
        while position < text.count, text[position].isWhitespace { position += 1 }
    }
}
