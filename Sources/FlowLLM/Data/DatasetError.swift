/// A dataset could not be read, rendered or prepared; the message names the file, line or field and the fix.
public struct DatasetError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong, where, and what to do about it.
    public let message: String

    /// An error with a complete message.
    public init(_ message: String) { self.message = message }

    /// An error located at `file:line`.
    public init(file: String, line: Int, _ message: String) {
        self.message = "\(file):\(line): \(message)"
    }

    /// The message.
    public var description: String { message }
}
