import ArgumentParser
import FlowEngine
import FlowKit
import FlowLLM
import Foundation

struct LLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm", abstract: "Run a built-in fine-tuning step alone.",
        subcommands: [Tokenize.self, PreprocessCommand.self, TrainCommand.self, MergeCommand.self, GenerateCommand.self,
                      EvalCommand.self, ServeCommand.self])

    struct Tokenize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tokenize", abstract: "Print the token ids and pieces of a text with a Hugging Face tokenizer.")

        @Option(help: "A tokenizer.json, or a folder holding one (and tokenizer_config.json).") var tokenizer: String
        @Flag(help: "Print JSON: {\"ids\": [...], \"pieces\": [...]}.") var json = false
        @Flag(name: .customLong("no-special-tokens"), help: "Do not add BOS/EOS from the post-processor.")
        var noSpecialTokens = false
        @Argument(help: "The text, or - (default) to read standard input.") var text: String = "-"

        struct Output: Encodable {
            var ids: [Int32]
            var pieces: [String]
        }

        func run() async throws {
            let url = URL(fileURLWithPath: tokenizer)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
                throw FlowError.config("no tokenizer at \(url.path)", hint: "pass a tokenizer.json or its folder")
            }
            let loaded: Tokenizer
            do {
                if isDir.boolValue {
                    loaded = try Tokenizer(directory: url)
                } else {
                    let config = url.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
                    loaded = try Tokenizer(
                        tokenizerJSON: url,
                        tokenizerConfig: FileManager.default.fileExists(atPath: config.path) ? config : nil)
                }
            } catch {
                throw FlowError.config("\(error)")
            }
            let input = text == "-"
                ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : text
            let ids = loaded.encode(input, addSpecialTokens: !noSpecialTokens)
            let pieces = loaded.tokenPieces(ids)
            if json {
                Terminal.line(Terminal.json(Output(ids: ids, pieces: pieces)))
                return
            }
            Terminal.line(ids.map(String.init).joined(separator: " "))
            Terminal.line(pieces.map { "[\($0)]" }.joined(separator: " "))
            FileHandle.standardError.write(Data("\(ids.count) tokens\n".utf8))
        }
    }
}

struct PreprocessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess", abstract: "Prepare an Axolotl config's datasets: tokens, labels, packing, split.")

    @Option(help: "An Axolotl YAML config.") var config: String
    @Option(help: "Use this JSONL file instead of the config's dataset path.") var data: String?
    @Option(name: .customLong("set"), help: "Override a config key: --set KEY=VALUE (repeatable).") var overrides: [String] = []
    @Option(help: "A tokenizer.json or its folder (default: the config's tokenizer_config or base_model).") var tokenizer: String?
    @Option(help: "Only the first N rows of each file.") var rows: Int?
    @Option(help: "Where to write the prepared dataset.") var out: String

    func run() async throws {
        var step = Preprocess(config: config, data: data, overrides: overrides, tokenizer: tokenizer)
        step.rowLimit = rows
        do {
            let manifest = try step.run(into: URL(fileURLWithPath: out), log: StepLog())
            Terminal.line("wrote \(out): \(manifest.splits.map { "\($0.key) \($0.value.examples) examples" }.sorted().joined(separator: ", "))")
        } catch {
            throw FlowError.wrapping(error)
        }
    }
}

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show prepared examples token by token: what is trained and what is masked.")

    @Argument(help: "A prepared-data folder, or a ref such as last_run_prepared.") var target: String
    @Option(help: "train or eval.") var split = "train"
    @Option(help: "First example to show.") var start = 0
    @Option(help: "How many examples.") var count = 3

    func run() async throws {
        var dir = URL(fileURLWithPath: target)
        var cleanup: URL?
        if !FileManager.default.fileExists(atPath: dir.path) {
            let session = try Session()
            let browser = StoreBrowser(project: session.project, database: session.database)
            let resolved = try browser.resolve(target)
            let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("flow-inspect-\(getpid())")
            try browser.get(resolved, to: tmp, force: true)
            dir = tmp
            cleanup = tmp
        }
        defer { if let cleanup { try? FileManager.default.removeItem(at: cleanup) } }
        do {
            let inspector = try DataInspector(directory: dir)
            print(inspector.render(split: split, start: start, count: count, color: Terminal.colors), terminator: "")
        } catch {
            throw FlowError.config("\(target) is not a prepared dataset: \(error)", hint: "prepare one with `flow run --preproc-only` or `flow llm preprocess`")
        }
    }
}

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a LoRA adapter (or fully fine-tune) on prepared data.")

    @Option(help: "An Axolotl YAML config.") var config: String
    @Option(help: "A prepared dataset folder (`flow llm preprocess` or `flow volume get last_run_prepared`).") var data: String
    @Option(help: "The base model folder (default: the config's base_model).") var base: String?
    @Option(name: .customLong("set"), help: "Override a config key: --set KEY=VALUE (repeatable).") var overrides: [String] = []
    @Option(help: "Resume from this checkpoint folder.") var resume: String?
    @Option(help: "Where to write the adapter (or model), trainer_state.json and checkpoints.") var out: String

    func run() async throws {
        let step = LoRATrain(config: config, data: URL(fileURLWithPath: data), base: base.map { URL(fileURLWithPath: $0) },
                             overrides: overrides)
        do {
            let summary = try step.run(into: URL(fileURLWithPath: out), resumeFrom: resume.map { URL(fileURLWithPath: $0) },
                                       progress: ProgressReporter(), log: StepLog())
            Terminal.line("trained \(summary.steps) steps (\(Int(summary.tokensPerSecond)) tokens/s); final loss "
                + (summary.finalLoss.map { String(format: "%.4f", $0) } ?? "-")
                + (summary.finalEvalLoss.map { String(format: ", eval loss %.4f", $0) } ?? "") + "; wrote \(out)")
        } catch {
            throw FlowError.wrapping(error)
        }
    }
}

struct MergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Merge a PEFT LoRA adapter into its base, shard by shard, in bounded memory.")

    @Option(help: "The base model folder (safetensors, sharded or not).") var base: String
    @Option(help: "The adapter folder (adapter_config.json, adapter_model.safetensors).") var adapter: String
    @Option(help: "Where to write the merged model.") var out: String

    func run() async throws {
        do {
            let summary = try LoRAMerge(base: URL(fileURLWithPath: base), adapter: URL(fileURLWithPath: adapter))
                .run(into: URL(fileURLWithPath: out), log: StepLog())
            Terminal.line("merged \(summary.tensorsMerged) tensors, replaced \(summary.tensorsReplaced), copied \(summary.tensorsCopied), "
                + "\(summary.shardsWritten) shards, \(summary.bytesWritten) bytes; wrote \(out)")
        } catch {
            throw FlowError.wrapping(error)
        }
    }
}

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate text from a model (and optionally an adapter applied on the fly).")

    @Option(help: "A model folder (config.json, safetensors, tokenizer).") var model: String
    @Option(help: "A PEFT adapter folder to apply without merging.") var adapter: String?
    @Option(help: "A tokenizer folder, when the model folder has none.") var tokenizer: String?
    @Option(help: "The prompt, or - to read standard input.") var prompt: String
    @Option(name: .customLong("max-tokens"), help: "Most new tokens.") var maxTokens = 64
    @Option(help: "0 is greedy.") var temperature: Float = 0
    @Option(name: .customLong("top-k"), help: "Sample among the k likeliest tokens (0: all).") var topK = 0
    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass.") var topP: Float = 1
    @Option(help: "Seed for sampling.") var seed: UInt64?
    @Option(help: "Stop at this text (repeatable).") var stop: [String] = []
    @Option(name: .customLong("num-beams"), help: "Beam search with this many beams (greedy settings only; 1: off).") var numBeams = 1
    @Option(name: .customLong("length-penalty"), help: "Beam search: finished beams score sum(log p) / length^this.") var lengthPenalty: Float = 1
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        var text: String
        var finishReason: String
        var promptTokens: Int
        var completionTokens: Int
    }

    func run() async throws {
        let text = prompt == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : prompt
        do {
            let generator = try TextGenerator(model: URL(fileURLWithPath: model), adapter: adapter.map { URL(fileURLWithPath: $0) },
                                              tokenizer: tokenizer.map { URL(fileURLWithPath: $0) })
            let options = GenerationOptions(maxTokens: maxTokens, temperature: temperature, topK: topK, topP: topP,
                                            seed: seed, stop: stop, numBeams: numBeams, lengthPenalty: lengthPenalty)
            let streaming = !json
            let result = try generator.generate(prompt: text, options: options) { token in
                if streaming { FileHandle.standardOutput.write(Data(token.text.utf8)) }
                return true
            }
            if json {
                Terminal.line(Terminal.json(Output(text: result.text, finishReason: "\(result.finishReason)",
                                                   promptTokens: result.promptTokens, completionTokens: result.completionTokens)))
            } else {
                Terminal.line("")
            }
        } catch {
            throw FlowError.wrapping(error)
        }
    }
}

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Run a model over held-out items and score them: predictions.jsonl and metrics.json.")

    @Option(help: "A model folder (merged, or the base of --adapter).") var model: String
    @Option(help: "A PEFT adapter folder to apply without merging.") var adapter: String?
    @Option(help: "A tokenizer folder (default: with --data, the prepared data's; else the adapter's or the model's).") var tokenizer: String?
    @Option(help: "A prepared dataset folder (`flow llm preprocess`).") var data: String?
    @Option(help: "With --data: the split to evaluate, eval or train.") var split = "eval"
    @Option(help: "With --data: a seeded sample of N examples of the split.") var sample: Int?
    @Option(help: "The seed of --sample.") var seed: UInt64 = 0
    @Option(help: "A JSONL test file in the format of --config's dataset.") var test: String?
    @Option(help: "With --test: the Axolotl config whose dataset format renders the prompts.") var config: String?
    @Option(name: .customLong("check"), help: "A check besides exact match: sql-valid (repeatable).") var checks: [String] = []
    @Option(name: .customLong("max-tokens"), help: "Most new tokens per output.") var maxTokens = Evaluation.defaultOptions.maxTokens
    @Option(name: .customLong("num-beams"), help: "Decode by beam search with this many beams (1: greedy).") var numBeams = Evaluation.defaultOptions.numBeams
    @Option(name: .customLong("length-penalty"), help: "Beam search: finished beams score sum(log p) / length^this.") var lengthPenalty = Evaluation.defaultOptions.lengthPenalty
    @Option(help: "Where to write predictions.jsonl and metrics.json.") var out: String
    @Flag(help: "Print metrics.json's numbers as JSON.") var json = false

    func validate() throws {
        guard (data == nil) != (test == nil) else {
            throw ValidationError("give either --data PREPARED or --test FILE --config FILE")
        }
        if test != nil && config == nil { throw ValidationError("--test needs --config: its dataset format renders the prompts") }
        if data == nil && (sample != nil || split != "eval") { throw ValidationError("--split and --sample go with --data") }
    }

    func run() async throws {
        do {
            let checks = try self.checks.map(EvalCheck.builtIn)
            var options = Evaluation.defaultOptions
            options.maxTokens = maxTokens
            options.numBeams = numBeams
            options.lengthPenalty = lengthPenalty
            let modelURL = URL(fileURLWithPath: model), adapterURL = adapter.map { URL(fileURLWithPath: $0) }
            let cases: [EvalCase], evaluation: Evaluation
            if let data {
                // The prepared data's tokenizer made the cases' prompt ids, so it decodes the outputs too.
                let dataURL = URL(fileURLWithPath: data)
                cases = try EvalCase.load(preparedDataset: dataURL, split: split, sample: sample, seed: seed)
                evaluation = try Evaluation(model: modelURL, adapter: adapterURL,
                                            tokenizer: tokenizer.map { URL(fileURLWithPath: $0) } ?? dataURL.appendingPathComponent("tokenizer"),
                                            options: options, checks: checks)
            } else {
                let tokenizerURL = try tokenizer.map { URL(fileURLWithPath: $0) } ?? Evaluation.tokenizerDirectory(model: modelURL, adapter: adapterURL)
                let step = Preprocess(config: config ?? "", tokenizer: tokenizerURL.path)
                let loaded = try step.loadConfig()
                let configTokenizer = try step.loadTokenizer(for: loaded)
                cases = try EvalCase.load(testFile: URL(fileURLWithPath: test ?? ""), config: loaded, tokenizer: configTokenizer)
                evaluation = try Evaluation(model: modelURL, adapter: adapterURL, tokenizer: configTokenizer, options: options, checks: checks)
            }
            let summary = try evaluation.run(cases, into: URL(fileURLWithPath: out), progress: ProgressReporter(), log: json ? nil : StepLog())
            if json { Terminal.line(Terminal.json(summary)) }
        } catch {
            throw FlowError.wrapping(error)
        }
    }
}
