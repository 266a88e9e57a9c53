/// A command step's line, parsed: `{STEP/OUTPUT}` inputs, `{output/NAME}` own outputs, `{NAME}` parameters.
public struct CommandTemplate: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case literal(String)
        case input(step: String, output: String)
        case output(String)
        case param(String)
        /// `{/mount/path}`: the local folder of a volume the step mounts there.
        case volume(String)
    }

    public let parts: [Part]

    /// Parses a command line. Only `{name}` and `{a/b}` with plain names are placeholders.
    public init(_ line: String, step: String) {
        var parts: [Part] = []
        var literal = ""
        var chars = Array(line)[...]
        while let c = chars.popFirst() {
            if c == "{" && chars.first == "{" {
                chars.removeFirst(); literal.append("{")
            } else if c == "}" && chars.first == "}" {
                chars.removeFirst(); literal.append("}")
            } else if c == "{", literal.last != "$", let close = chars.firstIndex(of: "}"),
                case let name = String(chars[chars.startIndex..<close]),
                !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "_-./".contains($0) })
            {
                // `${VAR}` and braces around anything but a name stay as they are, for the shell.
                chars = chars[(close + 1)...]
                if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
                let pieces = name.split(separator: "/", maxSplits: 1).map(String.init)
                if name.hasPrefix("/") {
                    parts.append(.volume(name))
                } else if pieces.count == 2 {
                    parts.append(pieces[0] == "output" ? .output(pieces[1]) : .input(step: pieces[0], output: pieces[1]))
                } else {
                    parts.append(.param(name))
                }
            } else {
                literal.append(c)
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    /// The steps whose outputs the command reads.
    public var inputSteps: [String] {
        parts.compactMap { if case .input(let s, _) = $0 { return s } else { return nil } }
    }

    /// The command line with each placeholder replaced by its shell-quoted value.
    public func render(value: (Part) throws -> String) rethrows -> String {
        try parts.map { part in
            if case .literal(let s) = part { return s }
            return shellQuote(try value(part))
        }.joined()
    }
}

/// Quotes a string for POSIX sh; plain words stay as they are.
public func shellQuote(_ s: String) -> String {
    let safe = s.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }
    if safe && !s.isEmpty { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

import Foundation
