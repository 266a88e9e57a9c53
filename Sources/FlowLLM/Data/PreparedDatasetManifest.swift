/// `manifest.json` of a prepared dataset directory: what it holds and what produced it.
public struct PreparedDatasetManifest: Codable, Sendable, Equatable {
    /// The format this code writes and reads.
    public static let currentFormatVersion = 1
    /// The split names a prepared dataset may hold.
    public static let splitNames = ["train", "eval"]

    /// Counts of one split.
    public struct SplitSummary: Codable, Sendable, Equatable {
        /// Examples, rows (training sequences), tokens, tokens the loss sees, and whether rows are packed.
        public var examples: Int, rows: Int, tokens: Int, trainedTokens: Int, packed: Bool
    }

    /// Always `flow.prepared-dataset`.
    public var format = "flow.prepared-dataset"
    /// The layout version (see `currentFormatVersion`).
    public var formatVersion = PreparedDatasetManifest.currentFormatVersion
    /// `sequence_len`, `sample_packing`, `pad_to_sequence_len` as prepared.
    public var sequenceLen: Int
    /// Whether the train split is packed.
    public var samplePacking: Bool
    /// Whether batches pad to `sequenceLen`.
    public var padToSequenceLen: Bool
    /// Effective special token ids (the config's `special_tokens` applied).
    public var bosTokenID: Int32?, eosTokenID: Int32?, padTokenID: Int32?
    /// The tokenizer's `contentDigest`.
    public var tokenizerDigest: String
    /// Digests of the data files, as given by the caller.
    public var dataDigests: [String]
    /// A fingerprint of `configFields` (FNV-1a 64, not cryptographic; the engine hashes `cacheKey`).
    public var configFingerprint: String
    /// Every config field that changes the output, with its effective value.
    public var configFields: [String: String]
    /// The preprocessing cache key material (config fields, tokenizer digest, data digests, format version).
    public var cacheKey: String
    /// `train` and `eval` counts.
    public var splits: [String: SplitSummary]
    /// Every data file of the directory with its size in bytes.
    public var files: [String: Int]
}
