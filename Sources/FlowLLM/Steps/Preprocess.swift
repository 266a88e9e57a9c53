import FlowKit
import Foundation

/// The preprocessing step: an Axolotl config and its JSONL data in, a prepared dataset out (tokens, labels,
/// packing, split, `stats.json`, `preview.jsonl`), plus a copy of the tokenizer so the data can be read back.
public struct Preprocess: Sendable {
    public var configPath: String
    public var dataPath: String?
    public var overrides: [String]
    public var tokenizerPath: String?
    public var rowLimit: Int?
    /// Where relative paths in the config start.
    public var baseDirectory: URL

    /// A preprocessing of `config`, optionally with another data file (`--data`) and `--set KEY=VALUE` overrides.
    public init(config: String, data: String? = nil, overrides: [String] = [], tokenizer: String? = nil,
                baseDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) {
        configPath = config
        dataPath = data
        self.overrides = overrides
        tokenizerPath = tokenizer
        self.baseDirectory = baseDirectory
    }

    /// Loads the config, with paths resolved against `baseDirectory`.
    public func loadConfig() throws -> AxolotlConfig {
        let url = configPath.hasPrefix("/") ? URL(fileURLWithPath: configPath) : baseDirectory.appendingPathComponent(configPath)
        return try AxolotlConfig.load(from: url, overrides: overrides, dataPath: dataPath)
    }

    /// The tokenizer the config names (`tokenizer_config`, else a local `base_model` folder), or the one given,
    /// with the config's `tokens` added and `special_tokens` applied.
    public func loadTokenizer(for config: AxolotlConfig) throws -> Tokenizer {
        let candidates = [tokenizerPath, config.tokenizerConfig, config.baseModel].compactMap { $0 }
        for candidate in candidates {
            let url = candidate.hasPrefix("/") ? URL(fileURLWithPath: candidate) : baseDirectory.appendingPathComponent(candidate)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { continue }
            var tokenizer = isDir.boolValue
                ? try Tokenizer(directory: url)
                : try Tokenizer(tokenizerJSON: url, tokenizerConfig: nil)
            if !config.tokens.isEmpty { tokenizer = tokenizer.addingTokens(config.tokens, special: false) }
            let s = config.specialTokens
            if !s.isEmpty {
                tokenizer = tokenizer.withSpecialTokens(bos: s["bos_token"], eos: s["eos_token"], pad: s["pad_token"],
                                                        unk: s["unk_token"])
            }
            return tokenizer
        }
        throw DatasetError(
            "\(config.sourceFile): no local tokenizer: tried \(candidates.isEmpty ? "nothing (no base_model or tokenizer_config)" : candidates.joined(separator: ", ")); "
                + "flow does not download models — point tokenizer_config (or base_model) at a folder with tokenizer.json, or pass a tokenizer")
    }

    /// What the prepared data depends on — every output-changing config field, the tokenizer's content digest
    /// and the data files' digests — for `Function(...).cacheKey { ... }`, so a changed tokenizer or
    /// `train_on_inputs` never reuses stale prepared data.
    public func cacheKeyMaterial() throws -> [String] {
        let config = try loadConfig()
        let preprocessor = Preprocessor(config: config, tokenizer: try loadTokenizer(for: config), baseDirectory: baseDirectory)
        return [preprocessor.cacheKey(dataDigests: try dataDigests(preprocessor), rowLimit: rowLimit)]
    }

    private func dataDigests(_ preprocessor: Preprocessor) throws -> [String] {
        try preprocessor.dataFiles().flatMap { $0 }.map { url -> String in
            var digest = TokenizerDigest()
            digest.update(try Data(contentsOf: url, options: .alwaysMapped))
            return digest.hexDigest()
        }
    }

    /// Writes the prepared dataset to `directory` (atomically) and the tokenizer to `directory/tokenizer`.
    @discardableResult
    public func run(into directory: URL, progress: ProgressReporter? = nil, log: StepLog? = nil) throws
        -> PreparedDatasetManifest
    {
        let config = try loadConfig()
        for note in config.notes { log?.info(note) }
        let tokenizer = try loadTokenizer(for: config)
        var preprocessor = Preprocessor(config: config, tokenizer: tokenizer, baseDirectory: baseDirectory)
        if let progress {
            preprocessor.onProgress = { tokenized, read in
                progress.update(completed: Double(read), total: nil, unit: "rows", metrics: ["examples": Double(tokenized)])
            }
        }
        let digests = try dataDigests(preprocessor)
        let manifest = try preprocessor.run(into: directory, dataDigests: digests, rowLimit: rowLimit)
        try tokenizer.write(to: directory.appendingPathComponent("tokenizer", isDirectory: true))
        let train = manifest.splits["train"]
        log?.info("prepared \(train?.examples ?? 0) training examples (\(train?.tokens ?? 0) tokens, "
                  + "\(train?.trainedTokens ?? 0) trained) and \(manifest.splits["eval"]?.examples ?? 0) eval examples")
        progress?.record(["examples": Double(train?.examples ?? 0), "tokens": Double(train?.tokens ?? 0),
                          "trained_tokens": Double(train?.trainedTokens ?? 0)], series: "preprocess")
        return manifest
    }
}
