import Foundation

/// What preprocessing produced, before it is written.
public struct PreprocessingResult: Sendable {
    /// The splits (`eval` empty without `val_set_size`).
    public var train: PreparedSplit, eval: PreparedSplit
    /// Counts and reasons.
    public var stats: PreprocessingStats
    /// The first examples of the training split, rendered.
    public var preview: [PreparedExamplePreview]
}

/// Axolotl-style preprocessing: read JSONL rows, render and tokenize them per dataset type, drop or
/// truncate by length, shuffle with `seed`, split off `val_set_size`, pack, and write a `PreparedDataset`.
public struct Preprocessor: Sendable {
    /// The config.
    public let config: AxolotlConfig
    /// The tokenizer.
    public let tokenizer: any PromptTokenizer
    /// Where relative dataset paths start (the working directory by default).
    public let baseDirectory: URL
    /// How many examples `preview.jsonl` shows.
    public var previewCount = 20
    /// Called with (rows tokenized, rows read so far) every 256 rows and at the end of each file.
    public var onProgress: (@Sendable (_ tokenized: Int, _ read: Int) -> Void)?

    /// A preprocessor.
    public init(config: AxolotlConfig, tokenizer: any PromptTokenizer,
                baseDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) {
        self.config = config
        self.tokenizer = tokenizer
        self.baseDirectory = baseDirectory
    }

    /// The tokenization context with the config's `special_tokens` applied.
    public func tokenizationContext() throws -> PromptTokenizationContext {
        func special(_ name: String) throws -> (id: Int32, text: String)? {
            guard let text = config.specialTokens[name] else { return nil }
            guard let id = tokenizer.id(forToken: text) else {
                throw DatasetError("\(config.sourceFile): special_tokens.\(name) `\(text)` is not a token of the tokenizer; use the tokenizer's own token or add it to tokenizer.json")
            }
            return (id, text)
        }
        return PromptTokenizationContext(
            tokenizer: tokenizer, sequenceLen: config.sequenceLen, trainOnInputs: config.trainOnInputs,
            bosOverride: try special("bos_token"), eosOverride: try special("eos_token"))
    }

    /// The effective pad id: `special_tokens.pad_token`, else the tokenizer's, else EOS.
    public func padTokenID(_ context: PromptTokenizationContext) -> Int32? {
        config.specialTokens["pad_token"].flatMap(tokenizer.id(forToken:)) ?? tokenizer.padTokenID ?? context.eosID
    }

    /// The data files of each dataset, resolved against `baseDirectory`.
    public func dataFiles() throws -> [[URL]] {
        try config.datasets.map { d in
            if let t = d.dsType, t != "json" {
                throw DatasetError("\(config.sourceFile): dataset `\(d.path)` has ds_type `\(t)`; flow reads local JSON lines (ds_type: json)")
            }
            func resolve(_ p: String) -> URL {
                p.hasPrefix("/") ? URL(fileURLWithPath: p) : baseDirectory.appendingPathComponent(p)
            }
            if !d.dataFiles.isEmpty { return d.dataFiles.map(resolve) }
            let url = resolve(d.path)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw DatasetError("\(url.path): dataset file not found (datasets.path `\(d.path)` in \(config.sourceFile)); flow reads local JSONL files: fix the path or pass --data FILE")
            }
            if !isDirectory.boolValue { return [url] }
            let names = try FileManager.default.contentsOfDirectory(atPath: url.path)
                .filter { $0.hasSuffix(".jsonl") || $0.hasSuffix(".json") }.sorted()
            guard !names.isEmpty else { throw DatasetError("\(url.path): directory has no .jsonl files") }
            return names.map { url.appendingPathComponent($0) }
        }
    }

    /// Runs everything but writing; `rowLimit` reads only the first rows of each file.
    public func prepare(rowLimit: Int? = nil) throws -> PreprocessingResult {
        guard !config.datasets.isEmpty else {
            throw DatasetError("\(config.sourceFile): no `datasets`; add one with `path` and `type`, or pass --data FILE")
        }
        let context = try tokenizationContext()
        var stats = PreprocessingStats()
        stats.warnings = missingTokenWarnings()
        let (examples, firstFile) = try tokenizeAll(context: context, rowLimit: rowLimit, stats: &stats)
        guard stats.rowsRead > 0 else { throw DatasetError("\(firstFile): no rows; the dataset is empty") }
        let lengths = examples.map(\.inputIDs.count)
        stats.examplesTokenized = lengths.count
        stats.lengthHistogram = PreprocessingStats.histogram(lengths, sequenceLen: config.sequenceLen)
        if config.excessLengthStrategy == .truncate { stats.truncated = lengths.filter { $0 > config.sequenceLen }.count }
        // Axolotl's order: shuffle the merged examples with `seed`, then filter, then split off the last rows.
        var shuffle = DatasetShuffle(seed: UInt64(bitPattern: Int64(config.seed)))
        let ordered = config.shuffleMergedDatasets ? shuffle.shuffled(examples) : examples
        let filter = ExampleLengthFilter(sequenceLen: config.sequenceLen, minLength: config.minSampleLen, strategy: config.excessLengthStrategy)
        let (kept, dropped) = try filter.apply(ordered, file: firstFile)
        stats.examplesKept = kept.count
        stats.dropped = Dictionary(uniqueKeysWithValues: dropped.map { ($0.key.rawValue, $0.value) })
        if kept.isEmpty { throw DatasetError(emptyResultMessage(total: lengths.count, dropped: dropped, file: firstFile)) }

        let evalCount = config.evalRowCount(of: kept.count)
        if evalCount >= kept.count {
            throw DatasetError("\(config.sourceFile): val_set_size \(config.valSetSize) takes all \(kept.count) examples for evaluation; lower it")
        }
        let trainExamples = Array(kept[..<(kept.count - evalCount)])
        let evalExamples = Array(kept[(kept.count - evalCount)...])
        let train = PreparedSplit(examples: trainExamples, packing: config.samplePacking, sequenceLen: config.sequenceLen)
        let eval = PreparedSplit(examples: evalExamples, packing: config.effectiveEvalSamplePacking, sequenceLen: config.sequenceLen)

        stats.trainExamples = train.exampleCount; stats.evalExamples = eval.exampleCount
        stats.trainRows = train.rowCount; stats.evalRows = eval.rowCount
        stats.trainTokens = train.tokens.count; stats.trainedTokens = train.trainedTokenCount
        stats.trainedTokenShare = train.tokens.isEmpty ? 0 : Double(stats.trainedTokens) / Double(train.tokens.count)
        stats.packingEfficiency = train.rowCount == 0 ? 0 : Double(train.tokens.count) / Double(train.rowCount * config.sequenceLen)
        let preview = (0..<min(previewCount, train.exampleCount)).map {
            PreparedExamplePreview(train.example($0), tokenizer: tokenizer)
        }
        return PreprocessingResult(train: train, eval: eval, stats: stats, preview: preview)
    }

    /// Prepares and writes the dataset to `directory` atomically.
    /// - Parameters:
    ///   - dataDigests: SHA-256 (or other content digests) of the data files, from the caller's store.
    ///   - rowLimit: reads only the first rows of each file (for quick looks and tests).
    @discardableResult
    public func run(into directory: URL, dataDigests: [String], rowLimit: Int? = nil) throws -> PreparedDatasetManifest {
        let result = try prepare(rowLimit: rowLimit)
        let context = try tokenizationContext()
        let fields = Dictionary(config.preprocessingFingerprintFields(), uniquingKeysWith: { a, _ in a })
        func summary(_ s: PreparedSplit, packed: Bool) -> PreparedDatasetManifest.SplitSummary {
            .init(examples: s.exampleCount, rows: s.rowCount, tokens: s.tokens.count, trainedTokens: s.trainedTokenCount, packed: packed)
        }
        var splits = ["train": result.train]
        var summaries = ["train": summary(result.train, packed: config.samplePacking)]
        if result.eval.exampleCount > 0 {
            splits["eval"] = result.eval
            summaries["eval"] = summary(result.eval, packed: config.effectiveEvalSamplePacking)
        }
        let manifest = PreparedDatasetManifest(
            sequenceLen: config.sequenceLen, samplePacking: config.samplePacking,
            padToSequenceLen: config.effectivePadToSequenceLen, bosTokenID: context.bosID, eosTokenID: context.eosID,
            padTokenID: padTokenID(context), tokenizerDigest: tokenizer.contentDigest, dataDigests: dataDigests,
            configFingerprint: Self.fingerprint(config.preprocessingFingerprintFields().map { "\($0.0)=\($0.1)" }.joined(separator: "\n")),
            configFields: fields, cacheKey: cacheKey(dataDigests: dataDigests, rowLimit: rowLimit),
            splits: summaries, files: [:])
        return try PreparedDatasetWriter.write(to: directory, manifest: manifest, splits: splits,
                                               stats: result.stats, preview: result.preview)
    }

    /// Every row of every dataset tokenized, in file order; `raise` is checked per file so its error names it.
    private func tokenizeAll(context: PromptTokenizationContext, rowLimit: Int?, stats: inout PreprocessingStats) throws
        -> (examples: [TokenizedExample], firstFile: String) {
        var all: [TokenizedExample] = []
        let files = try dataFiles()
        var firstFile = ""
        for (dataset, urls) in zip(config.datasets, files) {
            let strategy = try DatasetPromptStrategyFactory.make(for: dataset, in: config, context: context)
            for url in urls {
                if firstFile.isEmpty { firstFile = url.path }
                let rows = try JSONLDatasetReader.read(url, limit: rowLimit)
                stats.rowsRead += rows.count
                var examples: [TokenizedExample] = []
                for (index, row) in rows.enumerated() {
                    examples += try strategy.tokenize(row)
                    if index % 256 == 255 { onProgress?(stats.rowsRead - rows.count + index + 1, stats.rowsRead) }
                }
                onProgress?(stats.rowsRead, stats.rowsRead)
                if config.excessLengthStrategy == .raise {
                    _ = try ExampleLengthFilter(sequenceLen: config.sequenceLen, minLength: 0, strategy: .raise).apply(examples, file: url.path)
                }
                all += examples
            }
        }
        return (all, firstFile)
    }

    private func missingTokenWarnings() -> [String] {
        config.tokens.filter { tokenizer.id(forToken: $0) == nil }.map {
            "tokens: `\($0)` is not in the tokenizer's vocabulary, so it is tokenized as ordinary text (Axolotl would add it as a new token); add it to tokenizer.json's added_tokens to match"
        }
    }

    private func emptyResultMessage(total: Int, dropped: [ExampleDropReason: Int], file: String) -> String {
        var reasons: [String] = []
        if let n = dropped[.tooLong] {
            reasons.append("\(n == total ? "all \(n)" : "\(n) of \(total)") examples longer than sequence_len \(config.sequenceLen): raise sequence_len or set excess_length_strategy: truncate")
        }
        if let n = dropped[.tooShort] {
            reasons.append("\(n == total ? "all \(n)" : "\(n) of \(total)") examples shorter than min_sample_len \(config.minSampleLen) tokens: check the text field is not empty")
        }
        if let n = dropped[.noTrainedTokens] {
            reasons.append("\(n == total ? "all \(n)" : "\(n) of \(total)") examples have every label masked: check roles_to_train, train_on_inputs and the output field")
        }
        return "\(file): no examples left after filtering; " + reasons.joined(separator: "; ")
    }
}
