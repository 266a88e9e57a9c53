/// A text generation failure: a bad request (options, prompt) or a model, adapter or tokenizer that does not fit.
public struct GenerationError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and how to fix it.
    public let message: String

    /// An error with `message`.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
