/// An Axolotl config could not be read; the message names the file, line and key and says how to fix it.
public struct AxolotlConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The complete message.
    public let message: String

    /// An error with a complete message.
    public init(_ message: String) { self.message = message }

    /// An error about `key` at `file:line`.
    public init(file: String, line: Int?, key: String, _ message: String) {
        let location = line.map { "\(file):\($0)" } ?? file
        self.message = "\(location): `\(key)`: \(message)"
    }

    /// The message.
    public var description: String { message }
}

/// A non-fatal remark about a config: an unknown key, perhaps misspelt.
public struct AxolotlConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    /// The key as written.
    public let key: String
    /// The line it is on, when known.
    public let line: Int?
    /// The nearest known key within two edits, if any.
    public let suggestion: String?

    /// The remark, with its line and suggestion.
    public var description: String {
        let location = line.map { "line \($0): " } ?? ""
        let hint = suggestion.map { "; did you mean `\($0)`?" } ?? "; flow ignores it"
        return "\(location)unknown key `\(key)`\(hint)"
    }
}
