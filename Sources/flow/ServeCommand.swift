import ArgumentParser
import FlowEngine
import FlowLLM
import FlowServe
import Foundation

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API until SIGTERM or SIGINT.",
        discussion: """
            Endpoints: GET /health, GET /v1/models, POST /v1/completions, POST /v1/chat/completions (stream: true \
            for server-sent events). Prints "listening on URL" once ready. On SIGTERM or SIGINT it stops taking \
            connections, lets the requests in flight finish (for up to --shutdown-grace seconds; then their \
            generations are ended and their answers closed) and exits 0.
            """)

    @Option(help: "A model folder (config.json, safetensors, tokenizer).") var model: String
    @Option(help: "A PEFT adapter folder to apply without merging.") var adapter: String?
    @Option(help: "A tokenizer folder, when the model folder has none.") var tokenizer: String?
    @Option(help: "The address to bind.") var host = "127.0.0.1"
    @Option(help: "The port; 0 picks a free one.") var port = 8000
    @Option(name: .customLong("api-key-env"), help: "Require `Authorization: Bearer KEY`, with KEY read from this environment variable.")
    var apiKeyEnv: String?
    @Option(name: .customLong("model-name"), help: "The model name clients send (default: the model folder's name).")
    var modelName: String?
    @Option(name: .customLong("chat-template"), help: "chatml, llama2, llama3, mistral_v1 or alpaca (default: the tokenizer's own when flow knows it, else chatml).")
    var chatTemplate: String?
    @Option(name: .customLong("max-batch"), help: "The most requests generating at once; more wait their turn.")
    var maxBatch = 16
    @Option(help: "Weights as float32 (exact) or bfloat16 (half the bytes read per token).") var precision = "float32"
    @Option(name: .customLong("shutdown-grace"), help: "Seconds requests in flight may go on after SIGTERM/SIGINT before they are ended.")
    var shutdownGrace = 10.0

    func run() async throws {
        var apiKey: String?
        if let apiKeyEnv {
            guard let value = ProcessInfo.processInfo.environment[apiKeyEnv], !value.isEmpty else {
                throw FlowError.config("--api-key-env \(apiKeyEnv): the environment variable \(apiKeyEnv) is not set or empty",
                                       hint: "export \(apiKeyEnv)=... (a workflow gets it from a secret group), or leave out --api-key-env to serve without a key")
            }
            apiKey = value
        }
        guard let weights = GenerationWeightPrecision(rawValue: precision) else {
            throw FlowError.config("--precision \(precision) is not known", hint: "use float32 or bfloat16")
        }
        let template = try chatTemplate.map { name in
            guard let t = AxolotlChatTemplate.named(name) else {
                throw FlowError.config("--chat-template \(name) is not built in",
                                       hint: "use one of \(AxolotlChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return t
        }
        guard (0...65535).contains(port) else { throw FlowError.config("--port \(port) is outside 0...65535") }
        guard shutdownGrace >= 0, shutdownGrace.isFinite else { throw FlowError.config("--shutdown-grace \(shutdownGrace) must be 0 or more seconds") }
        let served: ServedModel
        do {
            let modelURL = URL(fileURLWithPath: model)
            let generator = try TextGenerator(model: modelURL, adapter: adapter.map { URL(fileURLWithPath: $0) },
                                              tokenizer: tokenizer.map { URL(fileURLWithPath: $0) }, precision: weights)
            served = ServedModel(generator: generator, name: modelName ?? modelURL.standardizedFileURL.lastPathComponent,
                                 chatTemplate: template)
        } catch {
            throw FlowError.wrapping(error)
        }
        let server = OpenAIServer(model: served, configuration: ServerConfiguration(
            host: host, port: port, apiKey: apiKey, maxActive: maxBatch, shutdownGrace: .milliseconds(Int(shutdownGrace * 1000))))
        do {
            try await server.run { url in Terminal.line("listening on \(url.absoluteString)") }
        } catch {
            throw FlowError.config("serving on \(host):\(port) failed: \(error)", hint: "is the port taken? --port 0 picks a free one")
        }
    }
}
