import ArgumentParser
import FlowEngine
import Foundation

struct VolumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume", abstract: "Browse and fetch what runs stored: refs, step outputs, prepared data.",
        subcommands: [List.self, Get.self, Put.self, Remove.self, GC.self, Fsck.self])

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "put", abstract: "Add a file, folder or archive to a named volume as a new version.")
        @Argument(help: "The volume's name.") var name: String
        @Argument(help: "A local file, folder, or archive (.tar, .tar.gz, .tar.zst, .zip: extracted).") var local: String
        @Argument(help: "Where in the volume (default: the file's name; an archive's content goes at the root).") var path: String?
        @Flag(help: "Replace what is already at PATH.") var force = false

        func run() async throws {
            let session = try Session()
            let browser = StoreBrowser(project: session.project, database: session.database)
            let version = try NamedVolumes(store: browser.store, database: session.database)
                .put(name, local: URL(fileURLWithPath: local), at: path, force: force, progress: ProgressLine.bytes(local))
            ProgressLine.finish()
            Terminal.line("\(name) version \(version.version): \(version.message) (\(version.digest.prefix(12)))")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove NAME/PATH from a volume as a new version.")
        @Argument(help: "NAME/PATH") var target: String

        func run() async throws {
            let session = try Session()
            guard let slash = target.firstIndex(of: "/") else {
                throw FlowError(.usage, "give NAME/PATH, e.g. pretrained/model.safetensors")
            }
            let browser = StoreBrowser(project: session.project, database: session.database)
            let version = try NamedVolumes(store: browser.store, database: session.database)
                .remove(String(target[..<slash]), path: String(target[target.index(after: slash)...]))
            Terminal.line("\(version.name) version \(version.version): \(version.message)")
        }
    }

    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc", abstract: "Free objects no ref, volume head or recent run needs.")
        @Option(help: "Keep the outputs and cache entries of this many recent runs.") var keepRuns = 20

        func run() async throws {
            let session = try Session()
            let browser = StoreBrowser(project: session.project, database: session.database)
            let r = try GarbageCollector(store: browser.store, database: session.database,
                                     runsDirectory: session.project.runsDirectory).collect(keepRuns: keepRuns)
            Terminal.line("freed \(r.freedBytes) bytes in \(r.removed) objects; kept \(r.kept); dropped \(r.droppedVersions) old volume versions, \(r.droppedCacheEntries) cache entries and \(r.removedWorkingCopies) finished runs' working copies")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List refs, or a ref's files.")
        @Argument(help: "A ref, optionally with a path inside it.") var ref: String?
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "List a volume's versions.") var versions = false

        func run() async throws {
            let session = try Session()
            let browser = StoreBrowser(project: session.project, database: session.database)
            let volumes = NamedVolumes(store: browser.store, database: session.database)
            if versions, let ref {
                let list = try volumes.versions(of: ref)
                if json { Terminal.line(Terminal.json(list)); return }
                Terminal.line(RunReport.table(["VERSION", "DIGEST", "CREATED", "CHANGE"],
                    list.map { ["\($0.version)", String($0.digest.prefix(12)), RunReport.timestamp($0.createdAt), $0.message] }))
                return
            }
            guard let ref else {
                let refs = try session.database.refs()
                if json { Terminal.line(Terminal.json(refs)); return }
                var rows = refs.map { [$0.name, String($0.digest.prefix(12)), RunReport.timestamp($0.updatedAt)] }
                for name in try volumes.names() {
                    if let head = try volumes.head(name) {
                        rows.append(["\(name) (volume, v\(head.version))", String(head.digest.prefix(12)), RunReport.timestamp(head.createdAt)])
                    }
                }
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
        @Option(help: "Write an archive instead (.tar, .tar.gz, .tar.zst, .zip).") var archive: String?

        func run() async throws {
            let session = try Session()
            let browser = StoreBrowser(project: session.project, database: session.database)
            let resolved = try browser.resolve(ref)
            if let archive {
                let file = URL(fileURLWithPath: archive)
                if FileManager.default.fileExists(atPath: file.path) && !force {
                    throw FlowError.config("\(file.path) exists", hint: "pass --force to replace it")
                }
                let staging = file.deletingLastPathComponent().appendingPathComponent(".flow-archive-\(getpid())")
                defer { try? FileManager.default.removeItem(at: staging) }
                try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
                try browser.get(resolved, to: staging.appendingPathComponent(resolved.entry.name), force: true)
                try Archive.create(file, from: staging)
                FileHandle.standardError.write(Data("wrote \(file.path)\n".utf8))
                return
            }
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

/// A one-line progress display on a terminal's standard error (nothing when it is not a terminal).
enum ProgressLine {
    static let enabled = isatty(STDERR_FILENO) != 0

    /// A byte-progress callback for hashing `label`, redrawing at most every 64 MiB.
    static func bytes(_ label: String) -> ((Int64, Int64) -> Void)? {
        guard enabled else { return nil }
        var last: Int64 = -1
        return { done, total in
            guard done - last >= 64 << 20 || done == total else { return }
            last = done
            let pct = total > 0 ? Int(Double(done) / Double(total) * 100) : 0
            FileHandle.standardError.write(Data("\rhashing \(label): \(done >> 20)/\(total >> 20) MiB (\(pct)%)".utf8))
        }
    }

    static func finish() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
