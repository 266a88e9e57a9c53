/// A JSON value together with where it sits (file and JSON path), so that reading `tokenizer.json` can say exactly
/// which field is wrong.
struct TokenizerJSONField {
    let value: TokenizerJSONValue
    let file: String
    let path: String

    func error(_ message: String) -> TokenizerError {
        TokenizerError(file: file, path: path, message)
    }

    /// The member `key`, or nil when it is absent or `null`.
    subscript(key: String) -> TokenizerJSONField? {
        guard let member = value[key] else { return nil }
        if case .null = member { return nil }
        return TokenizerJSONField(value: member, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    /// The member `key`, which must be present.
    func required(_ key: String) throws -> TokenizerJSONField {
        guard let member = self[key] else {
            throw TokenizerError(file: file, path: path.isEmpty ? key : "\(path).\(key)", "missing required field")
        }
        return member
    }

    func string() throws -> String {
        guard case .string(let text) = value else { throw error("expected a string, found \(value.typeName)") }
        return text
    }

    func bool() throws -> Bool {
        guard case .bool(let flag) = value else { throw error("expected true or false, found \(value.typeName)") }
        return flag
    }

    func int() throws -> Int {
        switch value {
        case .int(let number): return number
        case .double(let number) where number == number.rounded() && abs(number) < 1e15: return Int(number)
        default: throw error("expected an integer, found \(value.typeName)")
        }
    }

    func array() throws -> [TokenizerJSONField] {
        guard case .array(let elements) = value else { throw error("expected an array, found \(value.typeName)") }
        return elements.enumerated().map { TokenizerJSONField(value: $1, file: file, path: "\(path)[\($0)]") }
    }

    func members() throws -> [(String, TokenizerJSONField)] {
        guard case .object(let members) = value else { throw error("expected an object, found \(value.typeName)") }
        return members.map { ($0, TokenizerJSONField(value: $1, file: file, path: "\(path).\($0)")) }
    }

    func string(_ key: String) throws -> String { try required(key).string() }
    func optionalString(_ key: String) throws -> String? { try self[key]?.string() }
    func bool(_ key: String, default fallback: Bool) throws -> Bool { try self[key]?.bool() ?? fallback }
    func int(_ key: String) throws -> Int { try required(key).int() }

    /// The `type` tag of a component such as a normalizer or decoder.
    func typeTag() throws -> String { try string("type") }
}
