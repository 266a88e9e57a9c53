import ArgumentParser
import FlowEngine
import FlowLLM
import Foundation

struct LLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm", abstract: "Run a built-in fine-tuning step alone.", subcommands: [Tokenize.self])

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
