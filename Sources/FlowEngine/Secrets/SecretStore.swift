import Foundation

/// Named groups of secret environment variables, one dotenv file each: `secrets/<group>.env`.
public struct SecretStore: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// The file holding a group.
    public func file(for group: String) -> URL { directory.appendingPathComponent("\(group).env") }

    /// The groups present on disk.
    public func groups() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".env") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// Reads a group, refusing a file that others can read.
    public func load(_ group: String) throws -> [String: String] {
        let url = file(for: group)
        var st = stat()
        guard stat(url.path, &st) == 0 else {
            throw FlowError.config(
                "secret group '\(group)' is missing: \(url.path) does not exist",
                hint: "create it with the keys the step needs (see secrets.example), then `chmod 600 \(url.path)`")
        }
        if st.st_mode & 0o077 != 0 {
            throw FlowError.config(
                "secret file \(url.path) is readable by group or others (mode \(String(st.st_mode & 0o777, radix: 8)))",
                hint: "run `chmod 600 \(url.path)`")
        }
        let text = try String(contentsOf: url, encoding: .utf8)
        return try DotEnv.parse(text, file: url.path)
    }

    /// Loads the groups the given steps declare; any missing group or key (from `required`) fails naming the step.
    public func resolve(steps: [(step: String, groups: [String])], required: [String: [String]] = [:]) throws
        -> [String: [String: String]]
    {
        var loaded: [String: [String: String]] = [:]
        var problems: [String] = []
        for (step, groups) in steps {
            for group in groups where loaded[group] == nil {
                do {
                    let values = try load(group)
                    loaded[group] = values
                    for key in required[group, default: []] where values[key] == nil {
                        problems.append("step '\(step)' needs key \(key) in secret group '\(group)' (\(file(for: group).path))")
                    }
                } catch let error as FlowError {
                    problems.append("step '\(step)': \(error.message)" + (error.hint.map { " — \($0)" } ?? ""))
                }
            }
        }
        if !problems.isEmpty {
            throw FlowError.config("secrets are not ready:\n  - " + problems.joined(separator: "\n  - "),
                                   hint: "`flow secret check` lists every group the workflows use")
        }
        return loaded
    }
}

/// The dotenv format: `KEY=value`, `export KEY=value`, `#` comments, single or double quotes.
public enum DotEnv {
    public static func parse(_ text: String, file: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "=") else {
                throw FlowError.config("\(file):\(n + 1): expected KEY=value", hint: "comment lines start with #")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !(key.first?.isNumber ?? true)
            else {
                throw FlowError.config("\(file):\(n + 1): '\(key)' is not a valid variable name")
            }
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if let q = value.first, q == "\"" || q == "'" {
                guard value.count >= 2, let end = value.dropFirst().firstIndex(of: q) else {
                    throw FlowError.config("\(file):\(n + 1): unterminated \(q) quote for \(key)")
                }
                var inner = String(value[value.index(after: value.startIndex)..<end])
                if q == "\"" {
                    inner = inner.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\\"", with: "\"")
                }
                value = inner
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            values[key] = value
        }
        return values
    }
}
