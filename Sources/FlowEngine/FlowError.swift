/// An error the CLI reports to the user: what failed, where, and how to fix it.
public struct FlowError: Error, Sendable, CustomStringConvertible {
    /// Exit codes of the CLI contract: 1 a step failed, 2 usage or configuration error.
    public enum Kind: Sendable {
        case usage, configuration, stepFailed, internalError
    }

    public var kind: Kind
    public var message: String
    /// How to fix it, when there is something to say.
    public var hint: String?

    public init(_ kind: Kind, _ message: String, hint: String? = nil) {
        self.kind = kind
        self.message = message
        self.hint = hint
    }

    /// A usage or configuration error (exit 2).
    public static func config(_ message: String, hint: String? = nil) -> FlowError {
        FlowError(.configuration, message, hint: hint)
    }

    /// A library error (a bad config, a corrupt file...) as a configuration error; a FlowError stays as it is.
    public static func wrapping(_ error: Error) -> FlowError {
        (error as? FlowError) ?? FlowError.config("\(error)")
    }

    public var exitCode: Int32 {
        switch kind {
        case .usage, .configuration: return 2
        case .stepFailed, .internalError: return 1
        }
    }

    public var description: String {
        hint.map { "\(message)\n  hint: \($0)" } ?? message
    }
}
