/// Why a LoRA adapter could not be merged into a base checkpoint.
public struct LoRAMergeError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, broadly.
    public enum Kind: Sendable, Equatable {
        /// A file could not be read, written, synced or moved into place.
        case io
        /// `adapter_config.json` is missing, malformed or asks for something the merge does not do.
        case adapterConfig
        /// The adapter's tensors are not lora_A/lora_B pairs of the configured rank.
        case adapterTensors
        /// The adapter targets a tensor the base lacks, or one of another shape: it belongs to another model.
        case wrongModel
        /// The base is quantized (F8, integer or a `quantization_config`); merge into the unquantized base.
        case quantizedBase
        /// The output path is taken.
        case outputExists
    }

    /// What went wrong, broadly.
    public let kind: Kind
    /// The file or directory at fault.
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
