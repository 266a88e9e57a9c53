/// Why a Llama model, its config or its batch could not be used.
public struct LlamaModelError: Error, Sendable, CustomStringConvertible {
    /// What is wrong (naming the file or field) and how to fix it.
    public let message: String
    /// An error with the given message.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
