/// Replaces every secret value by `****` in text that leaves a step: log lines, errors, records.
public struct Redactor: Sendable {
    public static let mask = "****"
    private let values: [String]

    /// Masks these values, longest first so a value containing another is masked whole.
    public init(secrets: some Sequence<String>) {
        values = Array(Set(secrets.filter { !$0.isEmpty })).sorted { $0.count > $1.count }
    }

    public var isEmpty: Bool { values.isEmpty }

    public func redact(_ text: String) -> String {
        guard !values.isEmpty else { return text }
        var out = text
        for v in values where out.contains(v) {
            out = out.replacingOccurrences(of: v, with: Redactor.mask)
        }
        return out
    }
}
