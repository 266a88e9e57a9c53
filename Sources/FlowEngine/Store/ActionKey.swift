import Crypto
import FlowKit
import Foundation

/// The version of flow's built-in steps and engine that cache keys carry.
public enum FlowVersion {
    public static let current = "0.1.0"
}

/// Computes a step's cache key: what it is and its own code, the parameters and files it reads, its input
/// digests, its declared environment, and flow's version. Never a secret value.
public struct ActionKey: Sendable {
    public let digest: Digest
    /// What went into the key, for `flow runs show` and debugging.
    public let parts: [String]

    public init(parts: [String]) {
        self.parts = parts
        var hasher = SHA256()
        for p in parts {
            hasher.update(data: Data("\(p.utf8.count):".utf8))
            hasher.update(data: Data(p.utf8))
        }
        digest = Digest(hasher.finalize())
    }
}

/// The per-workflow-file facts keys need: each step's own source text, and the file without any step's text.
public struct WorkflowSource: Sendable {
    private let stepTexts: [String: String]
    /// Digest of the file with every step declaration cut out: helpers and globals all steps may use.
    public let sharedDigest: Digest

    public init(spec: WorkflowSpec) {
        let source = (try? String(contentsOfFile: spec.file, encoding: .utf8)) ?? ""
        var texts: [String: String] = [:]
        var ranges: [Range<String.Index>] = []
        for step in spec.steps where step.file == spec.file {
            if let r = SourceScanner.declaration(in: source, line: step.line) {
                texts[step.name] = String(source[r])
                ranges.append(r)
            }
        }
        // Parameter declarations are not code: their values enter keys only through the steps that read them.
        for (n, line) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where line.trimmingCharacters(in: .whitespaces).hasPrefix("Param(") {
            if let r = SourceScanner.declaration(in: source, line: n + 1) { ranges.append(r) }
        }
        var shared = ""
        var cursor = source.startIndex
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where r.lowerBound >= cursor {
            shared += source[cursor..<r.lowerBound]
            cursor = r.upperBound
        }
        shared += source[cursor...]
        stepTexts = texts
        sharedDigest = Digest.of(Data(shared.utf8))
    }

    public func text(of step: String) -> String? { stepTexts[step] }
}
