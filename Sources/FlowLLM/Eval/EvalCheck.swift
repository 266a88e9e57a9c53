import Foundation

/// The outcome of one check on one output: passed, or failed with the reason.
public struct EvalVerdict: Sendable, Equatable, Codable {
    /// Whether the output passed.
    public var passed: Bool
    /// Why it failed (nil when it passed).
    public var reason: String?

    /// A pass.
    public static let pass = EvalVerdict(passed: true, reason: nil)

    /// A failure with its reason.
    public static func fail(_ reason: String) -> EvalVerdict { EvalVerdict(passed: false, reason: reason) }

    /// `pass` when `condition` holds, else a failure with `reason`.
    public static func check(_ condition: Bool, _ reason: @autoclosure () -> String) -> EvalVerdict {
        condition ? .pass : .fail(reason())
    }
}

/// An assertion on each generated output ("level 1 eval"): a name (its metric in `metrics.json` and the
/// run's metrics) and a closure judging the output of one case. Workflow authors write their own inline:
///
///     EvalCheck("starts_with_select") { _, output in
///         .check(output.contains("SELECT"), "no SELECT in the output")
///     }
///
/// A check that throws fails that case with the error as the reason; the evaluation goes on.
public struct EvalCheck: Sendable {
    /// The metric name: letters, digits, `_`, `-` and `.`.
    public let name: String
    /// Judges `output`, generated for the case.
    public let evaluate: @Sendable (_ case: EvalCase, _ output: String) throws -> EvalVerdict

    /// A check named `name`.
    public init(_ name: String, _ evaluate: @escaping @Sendable (_ case: EvalCase, _ output: String) throws -> EvalVerdict) {
        self.name = name
        self.evaluate = evaluate
    }

    /// The verdict on `output`, a thrown error turned into a failure naming it.
    public func verdict(_ evalCase: EvalCase, output: String) -> EvalVerdict {
        do { return try evaluate(evalCase, output) } catch { return .fail("the check threw: \(error)") }
    }

    /// The output equals the expected answer once leading and trailing whitespace is trimmed from both.
    public static let exactMatch = EvalCheck("exact_match") { evalCase, output in
        let got = output.trimmingCharacters(in: .whitespacesAndNewlines)
        let want = evalCase.expected.trimmingCharacters(in: .whitespacesAndNewlines)
        return .check(got == want, "differs from the expected answer")
    }

    /// The built-in checks by name (`exact_match`, `sql_valid`; `-` may stand for `_`), for the command line.
    public static func builtIn(_ name: String) throws -> EvalCheck {
        switch name.replacingOccurrences(of: "-", with: "_") {
        case "exact_match": return .exactMatch
        case "sql_valid": return .sqlValid
        default: throw EvalError("unknown check `\(name)`; the built-in checks are exact-match and sql-valid")
        }
    }

    /// Whether `name` is usable as a metric name.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)
        }
    }
}
