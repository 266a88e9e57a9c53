import Foundation

/// An error loading, encoding with, training or writing a tokenizer; the message names the file and JSON path at fault.
public struct TokenizerError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file at fault (`tokenizer.json`, `tokenizer_config.json`), or empty when no file is involved.
    public var file: String
    /// The JSON path at fault, such as `model.merges[12]`, or empty.
    public var path: String
    /// What is wrong and, where possible, how to fix it.
    public var message: String

    /// Creates an error for `file` at JSON `path`.
    public init(file: String = "", path: String = "", _ message: String) {
        self.file = file
        self.path = path
        self.message = message
    }

    /// `file: path: message`, as shown to the user.
    public var description: String {
        var prefix = ""
        if !file.isEmpty { prefix += file + ": " }
        if !path.isEmpty { prefix += path + ": " }
        return prefix + message
    }
}
