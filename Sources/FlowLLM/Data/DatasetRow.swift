import Foundation

/// One value of a dataset row, as parsed from JSON.
public enum DatasetValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([DatasetValue])
    case object([String: DatasetValue])

    /// The value as prompt text: strings as they are, numbers and booleans spelled out, null as absent.
    public var text: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null, .array, .object: return nil
        }
    }

    /// A short name of the JSON kind, for error messages.
    public var kindName: String {
        switch self {
        case .string: "string"
        case .number: "number"
        case .bool: "boolean"
        case .null: "null"
        case .array: "array"
        case .object: "object"
        }
    }

    init(foundation value: Any) {
        switch value {
        case let s as String: self = .string(s)
        case let n as NSNumber:
            // JSONSerialization gives booleans as a private NSNumber subclass; tell them apart by type.
            if type(of: n) == booleanNumberType { self = .bool(n.boolValue) } else { self = .number(n.doubleValue) }
        case let a as [Any]: self = .array(a.map(DatasetValue.init(foundation:)))
        case let o as [String: Any]: self = .object(o.mapValues(DatasetValue.init(foundation:)))
        default: self = .null
        }
    }
}

private let booleanNumberType = type(of: NSNumber(value: true))

/// One JSON object of a JSONL dataset, with where it came from.
public struct DatasetRow: Sendable, Equatable {
    /// The file the row was read from (as given).
    public let file: String
    /// The 1-based line number in that file.
    public let line: Int
    /// The row's fields.
    public let fields: [String: DatasetValue]

    /// A row with its origin.
    public init(file: String, line: Int, fields: [String: DatasetValue]) {
        self.file = file
        self.line = line
        self.fields = fields
    }

    /// The field's text, or a `DatasetError` naming the field, the line and the fields the row has.
    public func requiredText(_ field: String, for purpose: String) throws -> String {
        guard let value = fields[field], value != .null else {
            throw DatasetError(file: file, line: line,
                               "row has no field `\(field)` (\(purpose)); it has \(fieldList). Set the dataset's field names in the config to match the data.")
        }
        guard let text = value.text else {
            throw DatasetError(file: file, line: line, "field `\(field)` is a \(value.kindName), expected a string (\(purpose))")
        }
        return text
    }

    /// The field's text, or nil when absent or null.
    public func optionalText(_ field: String) throws -> String? {
        guard let value = fields[field], value != .null else { return nil }
        guard let text = value.text else {
            throw DatasetError(file: file, line: line, "field `\(field)` is a \(value.kindName), expected a string")
        }
        return text
    }

    /// The row's field names, sorted and quoted, for messages.
    public var fieldList: String {
        fields.isEmpty ? "no fields" : fields.keys.sorted().map { "`\($0)`" }.joined(separator: ", ")
    }
}
