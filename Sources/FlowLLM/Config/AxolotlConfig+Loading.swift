import Foundation
import Yams

extension AxolotlConfig {
    /// Reads the config at `url`, applies `--set KEY=VALUE` overrides and, when given, `--data FILE`.
    /// - Parameters:
    ///   - overrides: `KEY=VALUE` strings; VALUE is read as YAML; KEY may be dotted (`datasets.0.type`).
    ///   - dataPath: replaces the `path` of the config's single dataset.
    public static func load(from url: URL, overrides: [String] = [], dataPath: String? = nil) throws -> AxolotlConfig {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw AxolotlConfigError("\(url.path): cannot read the config (\(error.localizedDescription)); check the path given to --config")
        }
        return try parse(yaml: text, file: url.path, overrides: overrides, dataPath: dataPath)
    }

    /// Reads a config from YAML text; `file` names it in errors.
    public static func parse(yaml: String, file: String = "<string>", overrides: [String] = [],
                             dataPath: String? = nil) throws -> AxolotlConfig {
        var root: Node
        do { root = try Yams.compose(yaml: yaml) ?? Node.mapping(Node.Mapping([])) } catch let error as YamlError {
            throw AxolotlConfigError("\(file): invalid YAML: \(describe(error))")
        }
        guard root.mapping != nil else {
            throw AxolotlConfigError("\(file):\(root.mark?.line ?? 1): the config must be a mapping of keys (e.g. `base_model: ...`)")
        }
        var reader = AxolotlConfigNodeReader(file: file)
        for override in overrides {
            let key = try apply(override: override, to: &root)
            reader.overriddenKeys.insert(key)
        }
        var config = AxolotlConfig()
        config.sourceFile = file
        for (keyNode, value) in root.mapping ?? [:] {
            let key = keyNode.scalar?.string ?? ""
            if reader.isNull(value) { continue }
            if let setter = keySetters[key] {
                try setter(&config, value, reader)
            } else if ignoredKeyNames.contains(key) {
                config.ignoredKeys.append(key)
            } else {
                config.diagnostics.append(AxolotlConfigDiagnostic(key: key, line: keyNode.mark?.line, suggestion: suggestion(for: key)))
            }
        }
        // Null-valued ignored keys still count as "present and ignored".
        for (keyNode, value) in root.mapping ?? [:] where reader.isNull(value) {
            if let key = keyNode.scalar?.string, ignoredKeyNames.contains(key), !config.ignoredKeys.contains(key) {
                config.ignoredKeys.append(key)
            }
        }
        if let dataPath {
            guard config.datasets.count <= 1 else {
                throw AxolotlConfigError("\(file): --data replaces one dataset, but the config has \(config.datasets.count); use --set datasets.N.path=FILE")
            }
            if config.datasets.isEmpty { config.datasets = [DatasetConfig(path: dataPath)] } else { config.datasets[0].path = dataPath }
        }
        return config
    }

    /// Sets one `KEY=VALUE` in the YAML tree and returns the key.
    private static func apply(override: String, to root: inout Node) throws -> String {
        guard let eq = override.firstIndex(of: "="), eq != override.startIndex else {
            throw AxolotlConfigError("--set \(override): expected KEY=VALUE, e.g. --set lora_r=8")
        }
        let key = String(override[..<eq])
        let valueText = String(override[override.index(after: eq)...])
        let value: Node
        do { value = try Yams.compose(yaml: valueText) ?? Node("", Tag(.null)) } catch {
            throw AxolotlConfigError("--set \(key): the value `\(valueText)` is not valid YAML; quote it")
        }
        let path = key.replacingOccurrences(of: "[", with: ".").replacingOccurrences(of: "]", with: "")
            .split(separator: ".").map(String.init)
        let top = path.first ?? ""
        if keySetters[top] == nil && !ignoredKeyNames.contains(top) {
            let hint = suggestion(for: top).map { "; did you mean `\($0)`?" } ?? ""
            throw AxolotlConfigError("--set \(key): unknown key `\(top)`\(hint)")
        }
        try set(value, at: path[...], in: &root, fullKey: key)
        return path.joined(separator: ".")
    }

    private static func set(_ value: Node, at path: ArraySlice<String>, in node: inout Node, fullKey: String) throws {
        guard let head = path.first else { node = value; return }
        if let index = Int(head) {
            guard var items = node.sequence, items.indices.contains(index) else {
                throw AxolotlConfigError("--set \(fullKey): there is no item \(index) to set")
            }
            var child = items[index]
            try set(value, at: path.dropFirst(), in: &child, fullKey: fullKey)
            items[index] = child
            node = .sequence(items)
        } else {
            guard var mapping = node.mapping else { throw AxolotlConfigError("--set \(fullKey): `\(head)` is not inside a mapping") }
            var child = mapping[head] ?? Node.mapping(Node.Mapping([]))
            try set(value, at: path.dropFirst(), in: &child, fullKey: fullKey)
            mapping[head] = child
            node = .mapping(mapping)
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)"
        default:
            return "\(error)"
        }
    }
}
