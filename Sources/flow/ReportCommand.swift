import ArgumentParser
import FlowEngine
import Foundation

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML page about a run: config, provenance, loss curves, metrics, predictions.")

    @Argument(help: "The run's tag (or a unique prefix).") var tag: String
    @Option(help: "Where to write the page (default: volumes/reports/<tag>.html).") var out: String?
    @Flag(help: "Print JSON: {\"path\": ...}.") var json = false

    func run() async throws {
        let session = try Session()
        let run = try session.database.resolveTag(tag)
        let report = try HTMLReport.gather(run: run, database: session.database, project: session.project)
        let destination = out.map { URL(fileURLWithPath: $0) }
            ?? session.project.storeDirectory.appendingPathComponent("reports").appendingPathComponent("\(run.tag).html")
        do {
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(report.html().utf8).write(to: destination, options: .atomic)
        } catch {
            throw FlowError(.configuration, "cannot write the report to \(destination.path): \(error.localizedDescription)",
                            hint: "pass --out FILE in a writable folder")
        }
        if json {
            Terminal.line(Terminal.json(["path": destination.path]))
        } else {
            Terminal.line("wrote \(session.project.display(destination.path))")
        }
    }
}
