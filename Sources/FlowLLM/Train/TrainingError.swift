/// A training run that cannot start or go on: a bad option, a checkpoint that does not fit, an unreadable file.
public struct TrainingError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, where, and what to do about it.
    public let message: String

    /// An error with `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
