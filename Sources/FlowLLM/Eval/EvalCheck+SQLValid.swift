import Foundation
internal import GRDB

extension EvalCheck {
    /// `sql_valid`, for text-to-SQL data such as sqlqa: the query between `[SQL]` and `[/SQL]` in the output is
    /// prepared (compiled, never run) by SQLite against an in-memory database holding the case's schema: the
    /// `CREATE TABLE` statements of the row's `context` field, else those quoted in the prompt. Fails with the
    /// reason: no wrapper, an empty query, more than one statement, or SQLite's message
    /// (`no such column: foo`, `near "FORM": syntax error`).
    public static let sqlValid = EvalCheck("sql_valid") { evalCase, output in
        guard let query = SQLAnswer.query(in: output) else { return .fail(SQLAnswer.missingWrapperReason(output)) }
        guard !query.isEmpty else { return .fail("the query between [SQL] and [/SQL] is empty") }
        let schemaText = evalCase.field("context") ?? evalCase.prompt
        let schema = SQLSchema(text: schemaText)
        guard !schema.tables.isEmpty else {
            return .fail("no CREATE TABLE statement in the row's context or the prompt to check the query against")
        }
        return try SQLAnswer.prepare(query, schema: schema)
    }
}

/// The SQL of a `[SQL] … [/SQL]` answer, and SQLite's opinion of it.
enum SQLAnswer {
    /// The trimmed text between the first `[SQL]` and the `[/SQL]` after it; nil when either is missing.
    static func query(in output: String) -> String? {
        guard let open = output.range(of: "[SQL]"), let close = output.range(of: "[/SQL]", range: open.upperBound..<output.endIndex)
        else { return nil }
        return output[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Why `output` has no complete wrapper.
    static func missingWrapperReason(_ output: String) -> String {
        output.contains("[SQL]")
            ? "no [/SQL] after [SQL] (the output may have hit max tokens)"
            : "no [SQL] … [/SQL] wrapper around a query in the output"
    }

    /// Prepares `query` against a fresh in-memory database holding `schema`.
    static func prepare(_ query: String, schema: SQLSchema) throws -> EvalVerdict {
        var configuration = Configuration()
        // SQLite's own default, which the datasets' answers rely on (`WHERE name = "AC/DC"`); GRDB turns it off.
        configuration.acceptsDoubleQuotedStringLiterals = true
        let database = try DatabaseQueue(configuration: configuration)
        return try database.inDatabase { db in
            do { try db.execute(sql: schema.sql) } catch let error as DatabaseError {
                return .fail("the schema does not build in SQLite: \(error.message ?? "\(error)")")
            }
            do {
                let statements = try db.allStatements(sql: query)
                guard try statements.next() != nil else { return .fail("the query between [SQL] and [/SQL] is empty") }
                guard try statements.next() == nil else { return .fail("more than one SQL statement between [SQL] and [/SQL]") }
                return .pass
            } catch let error as DatabaseError {
                return .fail("SQLite: \(error.message ?? "\(error)")")
            }
        }
    }
}
