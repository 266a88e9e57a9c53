import Hummingbird

/// Answers every error in OpenAI's JSON shape: Hummingbird's own (unknown route 404, wrong method 405, body too
/// large 413) keep their status; anything unexpected is a 500 `server_error` (the server keeps serving).
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as OpenAIError {
            throw error
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound: message = "Invalid URL (\(request.method) \(request.uri.path)); this server has GET /health, GET /v1/models, POST /v1/completions and POST /v1/chat/completions."
            case .methodNotAllowed: message = "\(request.method) is not allowed on \(request.uri.path)."
            case .contentTooLarge: message = "The request body is larger than this server accepts (\(OpenAIServer.maxBodyBytes) bytes)."
            default: message = error.body ?? error.status.reasonPhrase
            }
            throw OpenAIError(status: error.status, message: message, type: error.status.code >= 500 ? "server_error" : "invalid_request_error")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            context.logger.error("request failed: \(error)")
            throw OpenAIError(status: .internalServerError, message: "The server failed to answer: \(error)", type: "server_error")
        }
    }
}

/// With an API key set, every `/v1` request must carry `Authorization: Bearer <key>`; `/health` stays open.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/v1") else { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw OpenAIError.unauthorized("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        }
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), Self.constantTimeEqual(String(header.dropFirst(prefix.count)), key) else {
            throw OpenAIError.unauthorized("Incorrect API key provided. Use the key in the environment variable the server was started with (--api-key-env).")
        }
        return try await next(request, context)
    }

    /// Compares without stopping at the first difference, so timing does not reveal how much of a guess is right.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(truncatingIfNeeded: x.count ^ y.count)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0 && x.count == y.count
    }
}
