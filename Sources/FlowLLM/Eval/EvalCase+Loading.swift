import Foundation

extension EvalCase {
    /// Cases from a prepared dataset (the preprocess step's output): each example of `split`, or a seeded sample
    /// of `sample` of them, split at the label mask. The prompt is the masked prefix (exactly the tokens the
    /// model saw), the expected answer the decoded trained tokens without EOS, decoded with the dataset's own
    /// `tokenizer/`. Prepared data keeps no raw rows, so `fields` is empty.
    /// - Parameters:
    ///   - directory: the prepared dataset folder.
    ///   - split: `eval` (the `val_set_size` rows) or `train`.
    ///   - sample: take this many examples, drawn with `seed`, in dataset order; nil takes all.
    ///   - seed: the sample's seed (numpy's `default_rng(seed).permutation`, as preprocessing shuffles).
    public static func load(preparedDataset directory: URL, split: String = "eval", sample: Int? = nil,
                            seed: UInt64 = 0) throws -> [EvalCase] {
        guard PreparedDatasetManifest.splitNames.contains(split) else {
            throw EvalError("split `\(split)` is not one of \(PreparedDatasetManifest.splitNames.joined(separator: ", "))")
        }
        let data = try PreparedDataset(directory: directory)
        guard let prepared = data.splits[split], prepared.exampleCount > 0 else {
            throw EvalError("\(directory.path): the prepared dataset has no `\(split)` examples"
                + (split == "eval" ? " (val_set_size is 0); set val_set_size, sample the train split, or evaluate a test file" : ""))
        }
        let tokenizerDirectory = directory.appendingPathComponent("tokenizer", isDirectory: true)
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(directory: tokenizerDirectory) } catch {
            throw EvalError("\(tokenizerDirectory.path): cannot read the prepared dataset's tokenizer (\(error)); prepare the data again with flow's preprocess step")
        }
        let indices = try sampleIndices(count: prepared.exampleCount, sample: sample, seed: seed)
        return try indices.map { i in
            let example = prepared.example(i)
            guard let parts = PromptAnswerSplit(example, eosID: data.manifest.eosTokenID) else {
                throw EvalError("\(directory.path): \(split) example \(i) (data line \(example.sourceLine)) has no masked prompt before its trained tokens (a completion dataset, or train_on_inputs: true); evaluate a test file with its config instead")
            }
            return EvalCase(prompt: tokenizer.decode(parts.promptIDs, skipSpecialTokens: false),
                            expected: tokenizer.decode(parts.answerIDs, skipSpecialTokens: true),
                            promptIDs: parts.promptIDs, source: "\(split) example \(i) (data line \(example.sourceLine))")
        }
    }

    /// Cases from a JSONL test file in the format of the config's dataset `dataset` (default: the first),
    /// rendered and tokenized exactly as preprocessing does, with the prompt masked even under
    /// `train_on_inputs`. The expected answer is the row's output field (or first assistant turn) as the model
    /// was trained to produce it: tokenized and decoded, as for prepared data, so a model that generates exactly
    /// its training target matches (Llama tokenizers decode `[SQL] SELECT` as `[SQL]  SELECT`); the raw text
    /// stays in `fields`. A malformed line fails naming file and line.
    /// Generate with the same `tokenizer` (`Evaluation(model:adapter:tokenizer:…)`): it made the prompt ids.
    /// - Parameters:
    ///   - config: loaded as the preprocess step loads it (`Preprocess(config:).loadConfig()`).
    ///   - tokenizer: with the config's `tokens` and `special_tokens` applied (`Preprocess.loadTokenizer(for:)`).
    public static func load(testFile: URL, config: AxolotlConfig, tokenizer: any PromptTokenizer,
                            dataset: Int = 0) throws -> [EvalCase] {
        guard config.datasets.indices.contains(dataset) else {
            throw EvalError("\(config.sourceFile): no dataset #\(dataset) (the config has \(config.datasets.count)); its format renders the test rows, so add a `datasets` entry")
        }
        let trained = try Preprocessor(config: config, tokenizer: tokenizer).tokenizationContext()
        let context = PromptTokenizationContext(
            tokenizer: tokenizer, sequenceLen: trained.sequenceLen, trainOnInputs: false,
            bosOverride: trained.bosID.map { ($0, trained.bosToken) }, eosOverride: trained.eosID.map { ($0, trained.eosToken) })
        let strategy = try DatasetPromptStrategyFactory.make(for: config.datasets[dataset], in: config, context: context)
        let rows = try JSONLDatasetReader.read(testFile)
        guard !rows.isEmpty else { throw EvalError("\(testFile.path): no rows; the test file is empty") }
        return try rows.map { row in
            guard let example = try strategy.tokenize(row).first, let parts = PromptAnswerSplit(example, eosID: context.eosID) else {
                throw EvalError("\(row.file):\(row.line): the row renders no prompt before its answer in the config's dataset format; evaluation needs an instruction or chat format")
            }
            return EvalCase(prompt: tokenizer.decode(parts.promptIDs, skipSpecialTokens: false),
                            expected: tokenizer.decode(parts.answerIDs, skipSpecialTokens: true),
                            promptIDs: parts.promptIDs, fields: row.fields, source: "\(row.file):\(row.line)")
        }
    }

    /// All of `0..<count`, or `sample` of them drawn with `seed`, sorted.
    static func sampleIndices(count: Int, sample: Int?, seed: UInt64) throws -> [Int] {
        guard let sample else { return Array(0..<count) }
        guard sample > 0 else { throw EvalError("sample is \(sample); give a positive number of examples") }
        guard sample < count else { return Array(0..<count) }
        var shuffle = DatasetShuffle(seed: seed)
        return shuffle.permutation(count).prefix(sample).sorted()
    }
}
