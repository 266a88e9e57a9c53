// The default workflow: fine-tune a tiny Llama on text-to-SQL rows, on this machine's CPU.
//
//   tokenizer ─► pretrain-data ─► pretrain ─┬─► train ─► merge ─► eval ─► (serve)
//       └──────► preprocess ────────────────┘                    eval-base
//
// A byte-level BPE tokenizer and a tiny base model are trained from scratch on Workflows/data/pretrain/ (with
// Workflows/configs/pretrain.yml; the data's README says what the text is); they depend on neither --config nor
// --data, so swapping those never re-pretrains. The fine-tuning config (Axolotl YAML) is preprocessed with that tokenizer, a LoRA adapter is
// trained on the base, merged into it, and the merged model and the untrained base are scored on the held-out
// rows and on a sample of the trained ones. `flow run serve` serves the merged model.
//
// Quick run (for CI): flow run --pretrain Workflows/configs/quick-pretrain.yml --config Workflows/configs/quick.yml \
//     --eval-sample 4
import FlowKit
import FlowLLM
import Foundation

let finetune = Workflow("finetune") {
    Param("config", default: "Workflows/configs/sqlqa.yml", help: "the Axolotl config of the fine-tuning")
    Param("data", default: "", help: "a JSONL file replacing the config's dataset path (empty: the config's own)")
    Param("pretrain", default: "Workflows/configs/pretrain.yml", help: "the Axolotl config that pretrains the base")
    Param("corpus", default: "Workflows/data/pretrain", help: "the pretraining text: a folder of JSONL files with a `text` field")
    Param("evalSample", default: "100", help: "how many trained rows the eval steps score besides the held-out ones")
    Param("evalBeams", default: "4", help: "the eval steps decode by beam search with this many beams (1: greedy)")
    Param("port", default: "8000", help: "the port `serve` listens on")

    Function("tokenizer") { ctx in
        let pretrain = try Preprocess(config: ctx.pretrain, baseDirectory: ctx.workDirectory).loadConfig()
        let shape = try BaseModelShape(pretrain, root: ctx.workDirectory)
        let texts = try CorpusTexts(ctx.corpus, root: ctx.workDirectory)
        ctx.log.info("training a \(shape.architecture.vocabSize)-token BPE tokenizer on \(texts.lines.count) texts (\(texts.bytes) bytes)")
        let tokenizer = try shape.trainTokenizer(on: texts.lines)
        try tokenizer.write(to: ctx.output("tokenizer"))
        ctx.progress.record(["vocabulary": Double(tokenizer.vocabularySize)], series: "tokenizer")
    }
    .cacheKey { ctx in
        [try BaseModelShape(Preprocess(config: ctx.pretrain, baseDirectory: ctx.workDirectory).loadConfig(),
                            root: ctx.workDirectory).shapeText]
    }

    Function("pretrain-data") { ctx in
        try Preprocess(config: ctx.pretrain, data: ctx.corpus, tokenizer: ctx.input("tokenizer/tokenizer").path,
                       baseDirectory: ctx.workDirectory)
            .run(into: ctx.output("prepared"), progress: ctx.progress, log: ctx.log)
    }
    .needs("tokenizer")

    Function("pretrain") { ctx in
        let model = try ctx.output("model")
        try LoRATrain(config: ctx.pretrain, data: ctx.input("pretrain-data/prepared"), baseDirectory: ctx.workDirectory)
            .run(into: model, progress: ctx.progress, log: ctx.log)
        try BaseModelShape.makeSelfContained(model)
    }
    .needs("pretrain-data")
    .cacheKey { ctx in
        [try BaseModelShape(Preprocess(config: ctx.pretrain, baseDirectory: ctx.workDirectory).loadConfig(),
                            root: ctx.workDirectory).shapeText]
    }

    Function("preprocess") { ctx in
        try Preprocess(config: ctx.config, data: ctx.data.isEmpty ? nil : ctx.data,
                       tokenizer: ctx.input("tokenizer/tokenizer").path, baseDirectory: ctx.workDirectory)
            .run(into: ctx.output("prepared"), progress: ctx.progress, log: ctx.log)
    }
    .needs("tokenizer")
    .cacheKey { ctx in
        try Preprocess(config: ctx.config, data: ctx.data.isEmpty ? nil : ctx.data,
                       tokenizer: ctx.input("tokenizer/tokenizer").path, baseDirectory: ctx.workDirectory)
            .cacheKeyMaterial()
    }

    Function("train") { ctx in
        try LoRATrain(config: ctx.config, data: ctx.input("preprocess/prepared"), base: ctx.input("pretrain/model"),
                      baseDirectory: ctx.workDirectory)
            .run(into: ctx.output("adapter"), progress: ctx.progress, log: ctx.log)
    }
    .needs("preprocess", "pretrain")

    Function("merge") { ctx in
        try LoRAMerge(base: ctx.input("pretrain/model"), adapter: ctx.input("train/adapter"))
            .run(into: ctx.output("model"), progress: ctx.progress, log: ctx.log)
    }
    .needs("pretrain", "train")

    Function("eval") { ctx in
        try HeldOutAndTrained(prepared: ctx.input("preprocess/prepared"), trainSample: ctx.evalSample, beams: ctx.evalBeams)
            .evaluate(model: ctx.input("merge/model"), ctx)
    }
    .needs("merge", "preprocess")

    Function("eval-base") { ctx in
        try HeldOutAndTrained(prepared: ctx.input("preprocess/prepared"), trainSample: ctx.evalSample, beams: ctx.evalBeams)
            .evaluate(model: ctx.input("pretrain/model"), ctx)
    }
    .needs("pretrain", "preprocess")

    Command("serve", "flow llm serve --model {merge/model} --port {port}")
}
.preprocessing("preprocess")
.defaultTargets("eval", "eval-base")
.isDefault()

/// The base model's architecture: the `config.json` in the pretraining config's `base_model` folder, and the
/// tokenizer that goes with it (its vocabulary fills `vocab_size`, its BOS and EOS ids are the config's).
struct BaseModelShape {
    let pretrain: AxolotlConfig
    let configURL: URL
    let architecture: LlamaConfig

    init(_ pretrain: AxolotlConfig, root: URL) throws {
        guard let folder = pretrain.baseModel else {
            throw StepContextError("\(pretrain.sourceFile): base_model is not set; point it at a folder holding the base's config.json")
        }
        self.pretrain = pretrain
        configURL = (folder.hasPrefix("/") ? URL(fileURLWithPath: folder) : root.appendingPathComponent(folder))
            .appendingPathComponent("config.json")
        architecture = try LlamaConfig.load(from: configURL)
    }

    /// The config file's text, for cache keys: a changed shape re-trains the tokenizer and the base.
    var shapeText: String {
        get throws { try String(contentsOf: configURL, encoding: .utf8) }
    }

    /// Trains the BPE tokenizer: `<unk>`, BOS and EOS first (Llama's ids 0, 1, 2), the byte alphabet and merges,
    /// then the config's `tokens`, filling exactly `vocab_size`.
    func trainTokenizer(on texts: [String]) throws -> Tokenizer {
        let specials = pretrain.specialTokens
        guard let bos = specials["bos_token"], let eos = specials["eos_token"] else {
            throw StepContextError("\(pretrain.sourceFile): special_tokens needs bos_token and eos_token for the tokenizer it trains")
        }
        let unk = specials["unk_token"]
        let trainer = BPETrainer(vocabularySize: architecture.vocabSize - pretrain.tokens.count, minimumFrequency: 2,
                                 specialTokens: [unk, bos, eos].compactMap { $0 }, preTokenization: .llama3,
                                 bosToken: bos, eosToken: eos)
        let tokenizer = try trainer.train(texts: texts).addingTokens(pretrain.tokens, special: false)
            .withSpecialTokens(bos: bos, eos: eos, pad: nil, unk: unk)
        for (name, id, expected) in [("bos", tokenizer.bosTokenID, architecture.bosTokenID), ("eos", tokenizer.eosTokenID, architecture.eosTokenID)]
        where expected.map({ Int32($0) }) != id {
            throw StepContextError("\(configURL.path): \(name)_token_id is \(expected.map(String.init) ?? "unset") but the trained tokenizer gives \(name) the id \(id.map(String.init) ?? "none"); set it to \(id.map(String.init) ?? "the tokenizer's id")")
        }
        guard tokenizer.vocabularySize <= architecture.vocabSize else {
            throw StepContextError("\(configURL.path): the tokenizer has \(tokenizer.vocabularySize) tokens, more than vocab_size \(architecture.vocabSize); raise vocab_size")
        }
        return tokenizer
    }

    /// Moves the tokenizer the trainer copied into `model/tokenizer/` next to the weights and drops the final
    /// checkpoint, so the folder is a plain Hugging Face model that merge and generation load as it is.
    static func makeSelfContained(_ model: URL) throws {
        let fm = FileManager.default
        let tokenizer = model.appendingPathComponent("tokenizer", isDirectory: true)
        for name in try fm.contentsOfDirectory(atPath: tokenizer.path) {
            try fm.moveItem(at: tokenizer.appendingPathComponent(name), to: model.appendingPathComponent(name))
        }
        try fm.removeItem(at: tokenizer)
        try fm.removeItem(at: model.appendingPathComponent("checkpoints", isDirectory: true))
    }
}

/// The eval steps: exact match and sql-valid on the held-out rows (the prepared `eval` split) and on a seeded
/// sample of the trained rows, each output decoded by beam search (up to 256 tokens; `--eval-beams 1` decodes
/// greedily), written to the step's outputs `heldout` and `trained` (predictions.jsonl,
/// metrics.json) and recorded as the metrics `heldout_exact_match`, `heldout_sql_valid`, `trained_exact_match`
/// and `trained_sql_valid`.
struct HeldOutAndTrained {
    let prepared: URL
    let trainSample: Int
    let options: GenerationOptions

    init(prepared: URL, trainSample: String, beams: String) throws {
        guard let count = Int(trainSample), count > 0 else {
            throw StepContextError("--eval-sample is `\(trainSample)`; give a positive number of trained rows to score")
        }
        guard let numBeams = Int(beams) else {
            throw StepContextError("--eval-beams is `\(beams)`; give a whole number of beams (1: greedy decoding)")
        }
        var options = Evaluation.defaultOptions
        options.numBeams = numBeams
        do { try options.validate() } catch {
            throw StepContextError("--eval-beams is `\(beams)`: \(error)")
        }
        self.prepared = prepared
        self.trainSample = count
        self.options = options
    }

    func evaluate(model: URL, _ ctx: StepContext) throws {
        let evaluation = try Evaluation(model: model, tokenizer: prepared.appendingPathComponent("tokenizer"),
                                        options: options, checks: [.sqlValid])
        var metrics: [String: Double] = [:]
        for (name, cases) in [("heldout", try EvalCase.load(preparedDataset: prepared, split: "eval")),
                              ("trained", try EvalCase.load(preparedDataset: prepared, split: "train", sample: trainSample))] {
            ctx.log.info("\(name): \(cases.count) rows")
            let summary = try evaluation.run(cases, into: ctx.output(name), log: ctx.log)
            for (check, rate) in summary.passRates { metrics["\(name)_\(check)"] = rate }
        }
        ctx.progress.record(metrics, series: "eval")
    }
}

/// The `text` field of every row of a JSONL file, or of every `.jsonl` file in a folder.
struct CorpusTexts {
    var lines: [String] = []
    var bytes = 0

    init(_ path: String, root: URL) throws {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw StepContextError("\(url.path): corpus not found; pass --corpus with a JSONL file or a folder of them")
        }
        let files = isDirectory.boolValue
            ? try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".jsonl") }.sorted()
                .map { url.appendingPathComponent($0) }
            : [url]
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                guard let value = row?["text"] as? String else {
                    throw StepContextError("\(file.path):\(index + 1): expected a JSON object with a string `text` field")
                }
                lines.append(value)
                bytes += value.utf8.count
            }
        }
        guard !lines.isEmpty else { throw StepContextError("\(url.path): the corpus has no rows") }
    }
}
