import Yams

/// Typed reads of YAML nodes for one config file; every failure names the file, line and key.
struct AxolotlConfigNodeReader {
    let file: String
    /// Keys given with `--set`, whose errors name the flag instead of a line.
    var overriddenKeys: Set<String> = []

    func error(_ key: String, _ node: Node?, _ message: String) -> AxolotlConfigError {
        let path = key.replacingOccurrences(of: "[", with: ".").replacingOccurrences(of: "]", with: "")
        if let overridden = overriddenKeys.first(where: { path == $0 || path.hasPrefix($0 + ".") }) {
            return AxolotlConfigError("--set \(overridden): \(message)")
        }
        return AxolotlConfigError(file: file, line: node?.mark?.line, key: key, message)
    }

    func string(_ node: Node, _ key: String) throws -> String {
        guard let scalar = node.scalar else { throw error(key, node, "expected a string, found a \(kind(node))") }
        return scalar.string
    }

    func int(_ node: Node, _ key: String) throws -> Int {
        if let v = node.int { return v }
        if let d = node.float, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        throw error(key, node, "expected an integer, found `\(node.scalar?.string ?? kind(node))`")
    }

    func double(_ node: Node, _ key: String) throws -> Double {
        if let v = node.int { return Double(v) }
        if let v = node.float { return v }
        // YAML 1.1 reads `1e-4` (no dot) as a string; Axolotl's pydantic accepts it, so do we.
        if let s = node.scalar?.string, let v = Double(s) { return v }
        throw error(key, node, "expected a number, found `\(node.scalar?.string ?? kind(node))`")
    }

    func bool(_ node: Node, _ key: String) throws -> Bool {
        if let v = node.bool { return v }
        throw error(key, node, "expected true or false, found `\(node.scalar?.string ?? kind(node))`")
    }

    func stringList(_ node: Node, _ key: String) throws -> [String] {
        if node.scalar != nil { return [try string(node, key)] }
        guard let sequence = node.sequence else { throw error(key, node, "expected a list of strings, found a \(kind(node))") }
        return try sequence.map { try string($0, key) }
    }

    func stringMap(_ node: Node, _ key: String) throws -> [String: String] {
        guard let mapping = node.mapping else { throw error(key, node, "expected a mapping of strings, found a \(kind(node))") }
        var out: [String: String] = [:]
        for (k, v) in mapping where !isNull(v) { out[try string(k, key)] = try string(v, "\(key).\(k.scalar?.string ?? "?")") }
        return out
    }

    func isNull(_ node: Node) -> Bool { node.null != nil }

    func kind(_ node: Node) -> String {
        switch node {
        case .scalar: "scalar"
        case .mapping: "mapping"
        case .sequence: "list"
        case .alias: "alias"
        }
    }
}

extension AxolotlConfig {
    /// Levenshtein distance, for "did you mean" suggestions.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...max(b.count, 1) where j <= b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
