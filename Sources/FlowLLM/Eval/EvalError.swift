/// An evaluation could not run: bad cases, checks or settings, or outputs that could not be written.
public struct EvalError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong, where, and what to do about it.
    public let message: String

    /// An error with a complete message.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
