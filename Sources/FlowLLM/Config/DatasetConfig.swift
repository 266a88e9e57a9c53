/// How a dataset's rows are turned into prompts: a named Axolotl type or a user-defined mapping.
public enum DatasetType: Sendable, Equatable, CustomStringConvertible {
    /// `type: alpaca`, `completion`, `input_output`, `chat_template`, `sharegpt`, or `base:style`.
    case named(String)
    /// `type:` as a mapping of `field_*`, `format`, `no_input_format`, `system_format`, `system_prompt`.
    case userDefined(UserDefinedFormat)

    /// The type name, or the user-defined format's keys.
    public var description: String {
        switch self {
        case .named(let name): name
        case .userDefined(let f): "user-defined(\(f.canonical))"
        }
    }
}

/// The keys of a user-defined `type:` mapping, with Axolotl's defaults.
public struct UserDefinedFormat: Sendable, Equatable {
    /// `field_instruction`, `field_input`, `field_output`, `field_system`.
    public var fieldInstruction = "instruction", fieldInput = "input", fieldOutput = "output", fieldSystem = "system"
    /// `format`, `no_input_format`.
    public var format = "{instruction} {input} ", noInputFormat = "{instruction} "
    /// `system_format`, `system_prompt`.
    public var systemFormat = "{system}", systemPrompt = ""

    /// Defaults.
    public init() {}

    /// Every key with its effective value, for provenance and cache keys.
    public var canonical: String {
        [("field_instruction", fieldInstruction), ("field_input", fieldInput), ("field_output", fieldOutput),
         ("field_system", fieldSystem), ("format", format), ("no_input_format", noInputFormat),
         ("system_format", systemFormat), ("system_prompt", systemPrompt)]
            .map { "\($0.0)=\(DatasetConfig.quoted($0.1))" }.joined(separator: ",")
    }
}

/// One entry of `datasets:`.
public struct DatasetConfig: Sendable, Equatable {
    /// `path`: a local JSONL file (relative to the working directory) or directory.
    public var path: String
    /// `type`.
    public var type: DatasetType = .named("alpaca")
    /// `ds_type` (`json`), `data_files`, `split`, `name`.
    public var dsType: String?, dataFiles: [String] = [], split: String?, name: String?
    /// `field` for `completion` (default `text`).
    public var field: String?
    /// Chat keys: `field_messages`, `field_system`, `message_property_mappings`, `roles`,
    /// `roles_to_train`, `train_on_eos`, `train_on_eot`, `chat_template`.
    public var fieldMessages: String?, fieldSystem: String?
    /// `message_property_mappings`.
    public var messagePropertyMappings: [String: String] = [:]
    /// `roles`.
    public var roles: [String: [String]] = [:]
    /// `roles_to_train`.
    public var rolesToTrain: [String]?
    /// `train_on_eos`.
    public var trainOnEOS: String?
    /// `train_on_eot` (default: as `train_on_eos`).
    public var trainOnEOT: String?
    /// `drop_system_message`.
    public var dropSystemMessage = false
    /// `chat_template`.
    public var chatTemplate: String?
    /// The line of the entry in the config, for errors.
    public var line: Int?

    /// An entry for a path with the default type.
    public init(path: String) { self.path = path }

    /// Every key with its effective value, for provenance and cache keys.
    public var canonical: String {
        var parts = ["path=\(DatasetConfig.quoted(path))", "type=\(DatasetConfig.quoted(type.description))"]
        parts.append("ds_type=\(dsType ?? "")")
        parts.append("data_files=\(dataFiles.map(DatasetConfig.quoted).joined(separator: "|"))")
        parts.append("split=\(split ?? "")")
        parts.append("name=\(name ?? "")")
        parts.append("field=\(field ?? "")")
        parts.append("field_messages=\(fieldMessages ?? "")")
        parts.append("field_system=\(fieldSystem ?? "")")
        parts.append("message_property_mappings=\(messagePropertyMappings.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: "|"))")
        parts.append("roles=\(roles.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.joined(separator: "/"))" }.joined(separator: "|"))")
        parts.append("roles_to_train=\((rolesToTrain ?? ["assistant"]).joined(separator: "|"))")
        parts.append("train_on_eos=\(trainOnEOS ?? "turn")")
        parts.append("chat_template=\(chatTemplate ?? "")")
        parts.append("train_on_eot=\(trainOnEOT ?? "")")
        parts.append("drop_system_message=\(dropSystemMessage)")
        return parts.joined(separator: ",")
    }
}

extension DatasetConfig {
    /// A string quoted with escapes, so canonical forms are unambiguous.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}
