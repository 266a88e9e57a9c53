import Foundation
import Testing
import FlowLLM

/// `sql_valid` on real sqlqa rows: SQLite prepares the answer's query against the row's `CREATE TABLE` context.
@Suite struct EvalSQLValidTests {
    @Test func acceptsEveryReferenceAnswerOfTheFirstRows() throws {
        let rows = try EvalTests.sqlqaRows()
        for line in 1...64 {
            let c = try EvalTests.sqlqaCase(try #require(rows[line]))
            #expect(EvalCheck.sqlValid.verdict(c, output: c.expected) == .pass, "line \(line): \(c.expected)")
        }
    }

    /// sqlqa repeats a table with different columns (line 81: `station` twice) or a column in another case (line
    /// 369: `editor_id`, `Editor_ID`); SQLite rejects such a context as written, so the tables are merged.
    @Test(arguments: [81, 369])
    func acceptsAnswersWhoseContextRepeatsATable(line: Int) throws {
        let c = try EvalTests.sqlqaCase(try #require(try EvalTests.sqlqaRows()[line]))
        #expect(EvalCheck.sqlValid.verdict(c, output: c.expected) == .pass)
    }

    @Test func rejectsAWrongColumnWithSQLitesMessage() throws {
        let c = try EvalTests.sqlqaCase(try #require(try EvalTests.sqlqaRows()[1]))  // CREATE TABLE head (age INTEGER)
        let wrong = c.expected.replacingOccurrences(of: "age > 56", with: "height > 56")
        #expect(wrong != c.expected)
        #expect(EvalCheck.sqlValid.verdict(c, output: wrong) == .fail("SQLite: no such column: height"))
        let noTable = c.expected.replacingOccurrences(of: "FROM head", with: "FROM heads")
        #expect(EvalCheck.sqlValid.verdict(c, output: noTable) == .fail("SQLite: no such table: heads"))
    }

    @Test func rejectsASyntaxError() throws {
        let c = try EvalTests.sqlqaCase(try #require(try EvalTests.sqlqaRows()[2]))
        let broken = c.expected.replacingOccurrences(of: "FROM", with: "FORM")
        let verdict = EvalCheck.sqlValid.verdict(c, output: broken)
        #expect(!verdict.passed)
        #expect(verdict.reason?.hasPrefix("SQLite: near ") == true && verdict.reason?.hasSuffix("syntax error") == true,
                "\(verdict)")
    }

    @Test func rejectsAMissingWrapper() throws {
        let c = try EvalTests.sqlqaCase(try #require(try EvalTests.sqlqaRows()[3]))
        let bare = c.expected.replacingOccurrences(of: "[SQL]", with: "").replacingOccurrences(of: "[/SQL]", with: "")
        #expect(EvalCheck.sqlValid.verdict(c, output: bare) == .fail("no [SQL] … [/SQL] wrapper around a query in the output"))
        let unclosed = String(c.expected.dropLast("[/SQL]".count))
        #expect(EvalCheck.sqlValid.verdict(c, output: unclosed) == .fail("no [/SQL] after [SQL] (the output may have hit max tokens)"))
        #expect(EvalCheck.sqlValid.verdict(c, output: "[SQL]  [/SQL]") == .fail("the query between [SQL] and [/SQL] is empty"))
    }

    @Test func preparesWithoutRunningAndRejectsASecondStatement() throws {
        let c = try EvalTests.sqlqaCase(try #require(try EvalTests.sqlqaRows()[1]))
        // Prepared, never run: running this query fails with "integer overflow", compiling it does not.
        #expect(EvalCheck.sqlValid.verdict(c, output: "[SQL] SELECT abs(-9223372036854775808) [/SQL]") == .pass)
        #expect(EvalCheck.sqlValid.verdict(c, output: "[SQL] SELECT age FROM head; SELECT 1 [/SQL]")
                == .fail("more than one SQL statement between [SQL] and [/SQL]"))
        #expect(EvalCheck.sqlValid.verdict(c, output: "[SQL] SELECT age FROM head; [/SQL]") == .pass)
    }

    @Test func takesTheSchemaFromThePromptWhenTheCaseHasNoContext() throws {
        let row = try #require(try EvalTests.sqlqaRows()[81])
        let prompt = "[INST] Using the schema context below, generate a SQL query that answers the question.\n"
            + (try row.requiredText("context", for: "test")) + "\n" + (try row.requiredText("question", for: "test")) + " [/INST]"
        let c = EvalCase(prompt: prompt, expected: try row.requiredText("answer", for: "test"))
        #expect(EvalCheck.sqlValid.verdict(c, output: c.expected) == .pass)
        #expect(EvalCheck.sqlValid.verdict(c, output: "[SQL] SELECT nope FROM station [/SQL]") == .fail("SQLite: no such column: nope"))
        let noSchema = EvalCase(prompt: "How many heads?", expected: "")
        #expect(EvalCheck.sqlValid.verdict(noSchema, output: "[SQL] SELECT 1 [/SQL]")
                == .fail("no CREATE TABLE statement in the row's context or the prompt to check the query against"))
    }

    /// Contexts beyond sqlqa's plain form: quoted names, `IF NOT EXISTS`, types with commas, defaults, constraints.
    @Test func readsFullerCreateTableStatements() throws {
        let context = """
            CREATE TABLE IF NOT EXISTS "order items" (id INTEGER PRIMARY KEY, price DECIMAL(10, 2), note TEXT DEFAULT 'a,b)',
              customer_id INTEGER, FOREIGN KEY (customer_id) REFERENCES customers(id));
            CREATE TABLE customers ([id] INTEGER, `name` TEXT); CREATE TABLE Customers (NAME TEXT, city TEXT)
            """
        let c = EvalCase(prompt: "", expected: "", fields: ["context": .string(context)])
        let good = "[SQL] SELECT o.price, c.city FROM \"order items\" AS o JOIN customers AS c ON o.customer_id = c.id WHERE o.note = 'x' [/SQL]"
        #expect(EvalCheck.sqlValid.verdict(c, output: good) == .pass)
        #expect(EvalCheck.sqlValid.verdict(c, output: "[SQL] SELECT zip FROM customers [/SQL]") == .fail("SQLite: no such column: zip"))
        let bad = EvalCase(prompt: "", expected: "", fields: ["context": .string("CREATE TABLE t (a INTEGER REFERENCES)")])
        #expect(EvalCheck.sqlValid.verdict(bad, output: "[SQL] SELECT a FROM t [/SQL]").reason?.hasPrefix("the schema does not build in SQLite: ") == true)
    }
}
