/// What a `LoRAMerge` run did.
public struct MergeSummary: Sendable, Equatable {
    /// Base tensors that received W + scaling · B·A.
    public var tensorsMerged: Int
    /// Base tensors replaced by the adapter's trained copy (`modules_to_save`), in the base's dtype.
    public var tensorsReplaced = 0
    /// Base tensors copied byte for byte (no LoRA on them).
    public var tensorsCopied: Int
    /// Safetensors files written (shards, or the single `model.safetensors`).
    public var shardsWritten: Int
    /// Bytes written into those files (headers and tensor data; the index and copied files not included).
    public var bytesWritten: Int
    /// The most F32 scratch the merge held at once: one block of rows of W plus that tensor's A and B.
    public var peakTensorBytes: Int
    /// The non-weight files copied from the base (config, tokenizer...), by name.
    public var filesCopied: [String]
}
