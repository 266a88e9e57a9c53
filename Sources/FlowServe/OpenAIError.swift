import Foundation
import Hummingbird

/// An error answered in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with its HTTP status.
public struct OpenAIError: Error, Sendable, Equatable, HTTPResponseError, CustomStringConvertible {
    /// The HTTP status (400, 401, 404, 500, 503).
    public var status: HTTPResponse.Status
    /// What went wrong and how to fix it.
    public var message: String
    /// OpenAI's error type: `invalid_request_error`, `authentication_error`, `server_error`.
    public var type: String
    /// The request field at fault, if any.
    public var param: String?
    /// A machine-readable code (`invalid_api_key`, `model_not_found`, `context_length_exceeded`), if any.
    public var code: String?

    /// An error with every field given.
    public init(status: HTTPResponse.Status, message: String, type: String = "invalid_request_error",
                param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    /// 400: the request is malformed or a field is out of range.
    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> OpenAIError {
        OpenAIError(status: .badRequest, message: message, param: param, code: code)
    }

    /// 404: no model by that name is served.
    public static func modelNotFound(_ name: String, served: String) -> OpenAIError {
        OpenAIError(status: .notFound,
                    message: "The model `\(name)` does not exist; this server serves `\(served)` (GET /v1/models lists it).",
                    param: "model", code: "model_not_found")
    }

    /// 401: the API key is missing or wrong.
    public static func unauthorized(_ message: String) -> OpenAIError {
        OpenAIError(status: .unauthorized, message: message, type: "invalid_request_error", code: "invalid_api_key")
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// The JSON body: `{"error": {...}}`, with `param` and `code` present as null when absent.
    public var body: Data {
        let fields: [String: Any] = ["message": message, "type": type, "param": param ?? NSNull(), "code": code ?? NSNull()]
        return (try? JSONSerialization.data(withJSONObject: ["error": fields], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
