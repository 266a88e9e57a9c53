import FlowKit
import Foundation

/// The eval step: runs a model over eval cases, judges every output with the checks, and writes
/// `predictions.jsonl` (one `EvalPrediction` a line) and `metrics.json` (an `EvalSummary`) into a folder,
/// published whole or not at all. Exact match is always checked; `checks` add more ("level 1 evals").
///
///     let cases = try EvalCase.load(preparedDataset: try ctx.input("preprocess/data"))
///     let summary = try Evaluation(model: try ctx.input("merge/model"), checks: [.sqlValid])
///         .run(cases, into: try ctx.output("eval"), progress: ctx.progress, log: ctx.log)
public struct Evaluation: Sendable {
    /// Greedy decoding of up to 256 new tokens, ending at EOS (`numBeams` > 1 decodes by beam search instead).
    public static let defaultOptions = GenerationOptions(maxTokens: 256)

    /// The model the outputs come from.
    public let generator: TextGenerator
    /// How each output is generated.
    public var options: GenerationOptions
    /// Every check run on each output: `exact_match` first, then the given ones.
    public let checks: [EvalCheck]

    /// An evaluation with a loaded generator; `checks` need distinct metric names.
    public init(generator: TextGenerator, options: GenerationOptions = Evaluation.defaultOptions, checks: [EvalCheck] = []) throws {
        var all = [EvalCheck.exactMatch]
        for check in checks where check.name != EvalCheck.exactMatch.name {
            guard EvalCheck.isValidName(check.name) else {
                throw EvalError("check name `\(check.name)` is not a metric name; use letters, digits, `_`, `-` and `.`")
            }
            guard !Self.reservedNames.contains(check.name) else {
                throw EvalError("check name `\(check.name)` is taken by a metric of metrics.json; rename the check")
            }
            guard !all.contains(where: { $0.name == check.name }) else {
                throw EvalError("two checks are named `\(check.name)`; give each check its own name")
            }
            all.append(check)
        }
        try options.validate()
        self.generator = generator
        self.options = options
        self.checks = all
    }

    /// An evaluation of a model folder (merged, or the base of `adapter`) with a PEFT `adapter` applied without
    /// merging, and the tokenizer in `tokenizer` (default: see `tokenizerDirectory(model:adapter:)`). Evaluating
    /// prepared data, pass its `tokenizer/`: the cases' prompt ids were made with it.
    public init(model: URL, adapter: URL? = nil, tokenizer: URL? = nil, options: GenerationOptions = Evaluation.defaultOptions,
                checks: [EvalCheck] = [], threads: ComputeThreads = .fromEnvironment) throws {
        let directory = try tokenizer ?? Self.tokenizerDirectory(model: model, adapter: adapter)
        try self.init(model: model, adapter: adapter, tokenizer: Tokenizer(directory: directory), options: options,
                      checks: checks, threads: threads)
    }

    /// An evaluation of a model folder (and `adapter`) with a loaded tokenizer, such as the one a config's
    /// `tokens` and `special_tokens` were applied to (`Preprocess.loadTokenizer(for:)`).
    public init(model: URL, adapter: URL? = nil, tokenizer: Tokenizer, options: GenerationOptions = Evaluation.defaultOptions,
                checks: [EvalCheck] = [], threads: ComputeThreads = .fromEnvironment) throws {
        let generationModel = try GenerationModel(model: model, adapter: adapter, threads: threads)
        guard tokenizer.vocabularySize <= generationModel.config.vocabSize else {
            throw EvalError("\(model.path): the tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocab_size is \(generationModel.config.vocabSize); use the tokenizer the model was trained with")
        }
        try self.init(generator: TextGenerator(model: generationModel, tokenizer: tokenizer), options: options, checks: checks)
    }

    /// The first folder holding a `tokenizer.json` among the adapter folder's `tokenizer/` (where flow's train
    /// step copies the prepared data's tokenizer, added tokens included), the adapter folder, the model folder's
    /// `tokenizer/` and the model folder.
    public static func tokenizerDirectory(model: URL, adapter: URL? = nil) throws -> URL {
        let candidates = (adapter.map { [$0.appendingPathComponent("tokenizer"), $0] } ?? [])
            + [model.appendingPathComponent("tokenizer"), model]
        guard let found = candidates.first(where: {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("tokenizer.json").path)
        }) else {
            throw EvalError("no tokenizer.json in \(candidates.map(\.path).joined(separator: ", ")); pass the tokenizer folder (the prepared dataset's tokenizer/ works)")
        }
        return found
    }

    /// Generates an output for every case, runs the checks, and publishes `predictions.jsonl` and `metrics.json`
    /// in `directory`, replacing what was there only once both are written.
    /// - Parameters:
    ///   - progress: told after each case (unit `cases`), then given the metrics (series `eval`).
    ///   - log: gets one summary line.
    @discardableResult
    public func run(_ cases: [EvalCase], into directory: URL, progress: ProgressReporter? = nil, log: StepLog? = nil) throws -> EvalSummary {
        guard !cases.isEmpty else { throw EvalError("no cases to evaluate") }
        let stage: StagedDirectory
        do { stage = try StagedDirectory(for: directory) } catch {
            throw EvalError("\(directory.path): cannot create the output folder (\(error)); check the path and permissions")
        }
        do {
            let summary = try evaluate(cases, writingTo: stage.file("predictions.jsonl"), progress: progress)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            try stage.write(encoder.encode(summary), to: "metrics.json")
            try stage.publish()
            log?.info("evaluated \(summary.count) cases: "
                + checks.map { "\($0.name) \(String(format: "%.1f%%", 100 * (summary.passRates[$0.name] ?? 0)))" }.joined(separator: ", ")
                + (options.numBeams > 1 ? " (beam search, \(options.numBeams) beams)" : "")
                + String(format: "; %.1f tokens/s; wrote %@", summary.tokensPerSecond, directory.path))
            progress?.record(summary.metrics, series: "eval")
            return summary
        } catch {
            stage.discard()
            throw error
        }
    }

    /// Generates and judges every case, appending each prediction to `file` as it is made.
    private func evaluate(_ cases: [EvalCase], writingTo file: URL, progress: ProgressReporter?) throws -> EvalSummary {
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw EvalError("\(file.path): cannot create the predictions file; check the disk and permissions")
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var predictions: [EvalPrediction] = []
        var seconds = 0.0
        for (index, evalCase) in cases.enumerated() {
            try Task.checkCancellation()
            let start = DispatchTime.now().uptimeNanoseconds
            let generation: Generation
            do {
                generation = try evalCase.promptIDs.map { try generator.generate(promptIDs: $0, options: options) }
                    ?? generator.generate(prompt: evalCase.prompt, options: options)
            } catch {
                throw EvalError("case \(index) (\(evalCase.source)): generation failed: \(error)")
            }
            seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let verdicts = checks.map { ($0.name, $0.verdict(evalCase, output: generation.text)) }
            let prediction = EvalPrediction(
                index: index, source: evalCase.source, prompt: evalCase.prompt, expected: evalCase.expected,
                output: generation.text, finishReason: generation.finishReason.rawValue,
                completionTokens: generation.completionTokens, checks: Dictionary(uniqueKeysWithValues: verdicts))
            var line = try encoder.encode(prediction)
            line.append(0x0A)
            try handle.write(contentsOf: line)
            predictions.append(prediction)
            progress?.update(completed: Double(index + 1), total: Double(cases.count), unit: "cases")
        }
        try handle.synchronize()
        return EvalSummary(predictions: predictions, checks: checks.map(\.name), seconds: seconds, numBeams: options.numBeams)
    }

    /// Names `metrics.json` and the run metrics use for themselves.
    private static let reservedNames: Set<String> = ["count", "tokens_per_second"]
}
