import FlowLLM
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// How the server listens and whom it answers.
public struct ServerConfiguration: Sendable {
    /// The address to bind (loopback by default: only this machine can reach it).
    public var host: String
    /// The TCP port; 0 picks a free one (the URL handed to `onReady` names it).
    public var port: Int
    /// When set, `/v1` requests must send `Authorization: Bearer <apiKey>`.
    public var apiKey: String?
    /// The most requests generating at once; later ones queue first come, first served.
    public var maxActive: Int
    /// How long requests in flight may go on after SIGTERM or SIGINT before their generations are ended (their
    /// answers still close properly, with finish reason "stop").
    public var shutdownGrace: Duration

    /// A configuration; the defaults listen on 127.0.0.1:8000 without a key.
    public init(host: String = "127.0.0.1", port: Int = 8000, apiKey: String? = nil, maxActive: Int = 16,
                shutdownGrace: Duration = .seconds(10)) {
        self.host = host
        self.port = port
        self.apiKey = apiKey
        self.maxActive = maxActive
        self.shutdownGrace = shutdownGrace
    }
}

/// An OpenAI-compatible HTTP server over one model: `GET /health`, `GET /v1/models`, `POST /v1/completions` and
/// `POST /v1/chat/completions` (streamed as server-sent events with `stream: true`). Generation runs on a
/// `GenerationScheduler`'s thread, which batches every running request into each pass of the model.
public struct OpenAIServer: Sendable {
    /// The model answered for.
    public let model: ServedModel
    /// Where and how it listens.
    public let configuration: ServerConfiguration

    /// The largest request body read (16 MiB).
    static let maxBodyBytes = 16 << 20

    /// A server for `model`.
    public init(model: ServedModel, configuration: ServerConfiguration) {
        self.model = model
        self.configuration = configuration
    }

    /// Serves until SIGTERM or SIGINT (with `handlingSignals`) or until the calling task is cancelled. A signal
    /// stops the server taking connections and lets requests in flight finish; those still generating after
    /// `shutdownGrace` (or at a second signal) are ended, their answers closed properly; then it returns. `onReady`
    /// gets the base URL (with the port actually bound) once the server accepts connections.
    public func run(handlingSignals: Bool = true, onReady: @escaping @Sendable (URL) -> Void) async throws {
        let scheduler = GenerationScheduler(generator: model.generator, maxActive: configuration.maxActive)
        defer { scheduler.shutdown() }
        var logger = Logger(label: "flow.serve")
        logger.logLevel = .warning
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        let app = Application(
            router: router(scheduler),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "flow"),
            onServerRunning: { channel in
                onReady(URL(string: "http://\(host):\(channel.localAddress?.port ?? 0)")!)
            },
            logger: logger)
        let services = ServiceGroup(services: [app], logger: logger)
        let grace = configuration.shutdownGrace
        enum Finished { case server, other }
        try await withThrowingTaskGroup(of: Finished.self) { tasks in
            tasks.addTask {
                try await services.run()
                return .server
            }
            if handlingSignals {
                let (requested, request) = AsyncStream.makeStream(of: Void.self)
                tasks.addTask {
                    var signals = 0
                    for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                        signals += 1
                        if signals == 1 {
                            request.yield()
                            await services.triggerGracefulShutdown()
                        } else {
                            scheduler.cancelAll()
                        }
                    }
                    return .other
                }
                tasks.addTask {
                    for await _ in requested {
                        try await Task.sleep(for: grace)
                        scheduler.cancelAll()
                        break
                    }
                    return .other
                }
            }
            while let finished = try await tasks.next(), finished != .server {}
            tasks.cancelAll()
        }
    }

    func router(_ scheduler: GenerationScheduler) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: OpenAIErrorMiddleware())
        if let key = configuration.apiKey { router.add(middleware: APIKeyMiddleware(key: key)) }
        let model = self.model
        router.get("/health") { _, _ -> Response in
            let load = scheduler.load
            return try CompletionResponder.json(Health(model: model.name, running: load.running, waiting: load.waiting))
        }
        router.get("/v1/models") { _, _ -> Response in
            try CompletionResponder.json(ModelList(data: [.init(id: model.name, created: model.created)]))
        }
        let completion = CompletionResponder(kind: .completion, model: model, scheduler: scheduler)
        router.post("/v1/completions") { request, _ -> Response in
            let body = try await Self.body(CompletionRequest.self, of: request, model: model) { $0.sampling.model }
            let plan = try GenerationPlan(body.sampling, promptIDs: model.promptIDs(body.prompt), contextLength: model.contextLength,
                                          defaultMaxTokens: 16, promptParam: "prompt")
            return try await completion.respond(to: plan)
        }
        let chat = CompletionResponder(kind: .chat, model: model, scheduler: scheduler)
        router.post("/v1/chat/completions") { request, _ -> Response in
            let body = try await Self.body(ChatCompletionRequest.self, of: request, model: model) { $0.sampling.model }
            var plan = try GenerationPlan(body.sampling, promptIDs: model.promptIDs(body.messages), contextLength: model.contextLength,
                                          defaultMaxTokens: nil, promptParam: "messages")
            let end = model.endOfTurn()
            plan.options.stopTokenIDs += end.tokenIDs
            plan.options.stop += end.stops
            return try await chat.respond(to: plan)
        }
        return router
    }

    /// The request's JSON body as `type` (at most `maxBodyBytes`), naming a model this server serves.
    private static func body<T: Decodable>(_ type: T.Type, of request: Request, model: ServedModel,
                                           requested: (T) -> String?) async throws -> T {
        var request = request
        let body = try OpenAIError.decode(type, from: try await request.collectBody(upTo: maxBodyBytes))
        try model.check(requested(body))
        return body
    }

    /// `GET /health`: the model and the scheduler's load.
    struct Health: Encodable {
        var status = "ok"
        var model: String
        var running: Int
        var waiting: Int
    }
}

extension ServedModel {
    /// Throws a 400 without a model name and a 404 for a name this server does not serve.
    func check(_ requested: String?) throws {
        guard let requested else {
            throw OpenAIError.invalidRequest("You must provide a model parameter (GET /v1/models lists `\(name)`).", param: "model", code: "missing_required_parameter")
        }
        guard requested == name else { throw OpenAIError.modelNotFound(requested, served: name) }
    }
}
