import ArgumentParser
import FlowEngine
import Foundation

struct VolumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume", abstract: "Browse and fetch what runs stored: refs, step outputs, prepared data.",
        subcommands: [List.self, Get.self, Fsck.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List refs, or a ref's files.")
        @Argument(help: "A ref, optionally with a path inside it.") var ref: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let session = try Session()
            let browser = StoreBrowser(project: session.project, database: session.database)
            guard let ref else {
                let refs = try session.database.refs()
                if json { Terminal.line(Terminal.json(refs)); return }
                var rows = refs.map { [$0.name, String($0.digest.prefix(12)), RunReport.timestamp($0.updatedAt)] }
                for run in try session.database.runs(limit: 5) {
                    for o in try session.database.outputs(of: run.tag) {
                        rows.append(["runs/\(o.runTag)/\(o.step)/\(o.name)", String(o.digest.prefix(12)), RunReport.timestamp(run.createdAt)])
                    }
                }
                Terminal.line(rows.isEmpty ? "nothing stored yet" : RunReport.table(["REF", "DIGEST", "UPDATED"], rows))
                return
            }
            let resolved = try browser.resolve(ref)
            let entries = resolved.entry.kind == .directory ? try browser.store.tree(resolved.entry.digest).entries : [resolved.entry]
            if json { Terminal.line(Terminal.json(entries)); return }
            Terminal.line(RunReport.table(
                ["NAME", "KIND", "SIZE", "DIGEST"],
                entries.map { [$0.name + ($0.kind == .directory ? "/" : ""), $0.kind.rawValue, "\($0.size)", $0.digest.short] }))
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get", abstract: "Write a ref (or a path inside it) out to DEST; `-` prints a file.")
        @Argument(help: "last_run_prepared, runs/<tag>/<step>/<output>, optionally /path inside.") var ref: String
        @Argument(help: "Where to write it (default: the ref's last name, here).") var destination: String?
        @Flag(help: "Replace a non-empty destination.") var force = false

        func run() async throws {
            let session = try Session()
            let browser = StoreBrowser(project: session.project, database: session.database)
            let resolved = try browser.resolve(ref)
            if destination == "-" {
                guard resolved.entry.kind == .file else {
                    throw FlowError(.usage, "'\(ref)' is a directory; `-` prints a single file", hint: "give a DEST folder")
                }
                FileHandle.standardOutput.write(try browser.store.object(resolved.entry.digest))
                return
            }
            let dest = URL(fileURLWithPath: destination ?? resolved.entry.name)
            try browser.get(resolved, to: dest, force: force)
            FileHandle.standardError.write(Data("wrote \(dest.path) (\(resolved.entry.size) bytes, \(resolved.entry.digest.short))\n".utf8))
        }
    }

    struct Fsck: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fsck", abstract: "Verify every stored object and ref; exit 1 listing what is damaged.")

        func run() async throws {
            let session = try Session()
            let check = try StoreBrowser(project: session.project, database: session.database).fsck()
            for d in check.damaged { Terminal.line("damaged object \(d.hex)") }
            for m in check.missing { Terminal.line("missing object \(m.digest.hex) (needed by \(m.ref))") }
            Terminal.line("\(check.objects) objects checked, \(check.damaged.count) damaged, \(check.missing.count) missing"
                + (check.removedTemporaries > 0 ? ", \(check.removedTemporaries) interrupted writes removed" : ""))
            if !check.clean { throw ExitCode(1) }
        }
    }
}
