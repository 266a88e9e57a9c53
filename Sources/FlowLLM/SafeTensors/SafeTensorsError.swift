/// Why a safetensors file, shard index or tensor could not be read or written.
public struct SafeTensorsError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, broadly.
    public enum Kind: Sendable, Equatable {
        case io, truncated, headerTooLarge, invalidHeader, invalidTensor, unsupportedDType
        case missingTensor, shapeMismatch, invalidIndex
    }

    /// What went wrong, broadly.
    public let kind: Kind
    /// The file at fault.
    public let file: String
    /// The tensor at fault, when one is.
    public let tensor: String?
    /// What is wrong and what to do about it.
    public let message: String

    /// An error about `file` (and optionally one tensor in it).
    public init(_ kind: Kind, file: String, tensor: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.tensor = tensor
        self.message = message
    }

    public var description: String {
        if let tensor { return "\(file): tensor '\(tensor)': \(message)" }
        return "\(file): \(message)"
    }
}
