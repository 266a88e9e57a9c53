import Yams

extension AxolotlConfig {
    /// The `type:` names flow renders (a `base:style` type routes on its base).
    public static let knownDatasetTypes = ["alpaca", "chat_template", "completion", "input_output", "sharegpt"]

    static let datasetKeys: Set<String> = [
        "path", "type", "ds_type", "data_files", "split", "name", "field", "field_messages", "field_system",
        "message_property_mappings", "message_field_role", "message_field_content", "message_field_training",
        "roles", "roles_to_train", "train_on_eos", "train_on_eot", "chat_template", "drop_system_message",
    ]
    /// Dataset keys that only matter for hub downloads or GPU runs.
    static let ignoredDatasetKeys: Set<String> = [
        "shards", "shards_idx", "revision", "trust_remote_code", "preprocess_shards",
        "conversation", "train_on_split", "data_dir", "storage_options", "temperature",
    ]
    static let userDefinedKeys: Set<String> = [
        "field_instruction", "field_input", "field_output", "field_system", "format", "no_input_format",
        "system_format", "system_prompt",
    ]

    static func readDatasets(_ node: Node, _ r: AxolotlConfigNodeReader, _ diagnostics: inout [AxolotlConfigDiagnostic]) throws -> [DatasetConfig] {
        guard let items = node.sequence else { throw r.error("datasets", node, "expected a list of datasets (each with `path` and `type`)") }
        return try items.enumerated().map { index, item in try readDataset(item, index: index, r, &diagnostics) }
    }

    private static func readDataset(_ node: Node, index: Int, _ r: AxolotlConfigNodeReader,
                                    _ diagnostics: inout [AxolotlConfigDiagnostic]) throws -> DatasetConfig {
        let key = "datasets[\(index)]"
        guard let mapping = node.mapping else { throw r.error(key, node, "expected a mapping with `path` and `type`") }
        guard let pathNode = mapping["path"], !r.isNull(pathNode) else { throw r.error(key, node, "has no `path`; give the JSONL file") }
        var d = DatasetConfig(path: try r.string(pathNode, "\(key).path"))
        d.line = node.mark?.line
        for (k, v) in mapping where !r.isNull(v) {
            let name = try r.string(k, key)
            let sub = "\(key).\(name)"
            switch name {
            case "path": break
            case "type": d.type = try readType(v, key: sub, r)
            case "ds_type": d.dsType = try r.string(v, sub)
            case "data_files": d.dataFiles = try r.stringList(v, sub)
            case "split": d.split = try r.string(v, sub)
            case "name": d.name = try r.string(v, sub)
            case "field": d.field = try r.string(v, sub)
            case "field_messages": d.fieldMessages = try r.string(v, sub)
            case "field_system": d.fieldSystem = try r.string(v, sub)
            case "message_property_mappings": d.messagePropertyMappings.merge(try r.stringMap(v, sub)) { _, new in new }
            case "message_field_role": d.messagePropertyMappings["role"] = try r.string(v, sub)
            case "message_field_content": d.messagePropertyMappings["content"] = try r.string(v, sub)
            case "message_field_training": d.messagePropertyMappings["training"] = try r.string(v, sub)
            case "roles":
                guard let roles = v.mapping else { throw r.error(sub, v, "expected a mapping of role → list of source roles") }
                for (role, sources) in roles { d.roles[try r.string(role, sub)] = try r.stringList(sources, sub) }
            case "roles_to_train": d.rolesToTrain = try r.stringList(v, sub)
            case "train_on_eos", "train_on_eot":
                let s = try r.string(v, sub)
                guard TrainOnEOS(rawValue: s) != nil else { throw r.error(sub, v, "`\(s)` is not one of turn, all, last, none") }
                if name == "train_on_eos" { d.trainOnEOS = s } else { d.trainOnEOT = s }
            case "chat_template": d.chatTemplate = try r.string(v, sub)
            case "drop_system_message": d.dropSystemMessage = try r.bool(v, sub)
            default:
                if ignoredDatasetKeys.contains(name) { continue }
                let near = (datasetKeys.union(ignoredDatasetKeys)).filter { AxolotlConfig.editDistance($0, name) <= 2 }.sorted().first
                if let near { throw r.error(sub, k, "unknown dataset key; did you mean `\(near)`?") }
                diagnostics.append(AxolotlConfigDiagnostic(key: sub, line: k.mark?.line, suggestion: nil))
            }
        }
        return d
    }

    private static func readType(_ node: Node, key: String, _ r: AxolotlConfigNodeReader) throws -> DatasetType {
        if node.scalar != nil {
            let name = try r.string(node, key)
            let base = String(name.split(separator: ":", maxSplits: 1).first ?? "")
            guard knownDatasetTypes.contains(base) else {
                throw r.error(key, node, "unknown dataset type `\(name)`; known types: \(knownDatasetTypes.joined(separator: ", ")), or a mapping with field_instruction/format for a user-defined format")
            }
            return .named(name)
        }
        guard let mapping = node.mapping else { throw r.error(key, node, "expected a type name or a user-defined format mapping") }
        var f = UserDefinedFormat()
        for (k, v) in mapping where !r.isNull(v) {
            let name = try r.string(k, key)
            let sub = "\(key).\(name)"
            switch name {
            case "field_instruction": f.fieldInstruction = try r.string(v, sub)
            case "field_input": f.fieldInput = try r.string(v, sub)
            case "field_output": f.fieldOutput = try r.string(v, sub)
            case "field_system": f.fieldSystem = try r.string(v, sub)
            case "format": f.format = try r.string(v, sub)
            case "no_input_format": f.noInputFormat = try r.string(v, sub)
            case "system_format": f.systemFormat = try r.string(v, sub)
            case "system_prompt": f.systemPrompt = try r.string(v, sub)
            default:
                let near = userDefinedKeys.filter { AxolotlConfig.editDistance($0, name) <= 2 }.sorted().first
                throw r.error(sub, k, "unknown key in a user-defined format" + (near.map { "; did you mean `\($0)`?" } ?? "; known: \(userDefinedKeys.sorted().joined(separator: ", "))"))
            }
        }
        return .userDefined(f)
    }
}
