import ArgumentParser
import FlowEngine
import Foundation

struct HostsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts", abstract: "List and probe the hosts in hosts.toml (and local).",
        subcommands: [List.self, Check.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "The declared hosts.")
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable { var name, ssh, root: String; var gpus: [String]; var slots: Int }

        func run() async throws {
            let hosts = try HostsFile.load(try Project.find())
            let rows = hosts.map { Row(name: $0.name, ssh: $0.ssh ?? "-", root: $0.root, gpus: $0.gpus, slots: $0.slots) }
            if json { Terminal.line(Terminal.json(rows)); return }
            Terminal.line(RunReport.table(["NAME", "SSH", "ROOT", "GPUS", "SLOTS"], rows.map { row in
                [row.name, row.ssh, row.root, row.gpus.isEmpty ? "(nvidia-smi)" : row.gpus.joined(separator: ","), "\(row.slots)"]
            }))
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check", abstract: "Probe hosts: reachable, root writable, free disk, GPUs, flow's worker, runtime libraries.")
        @Argument(help: "Only this host.") var name: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let project = try Project.find()
            var hosts = try HostsFile.load(project)
            if let name {
                guard let h = hosts.first(where: { $0.name == name }) else {
                    throw FlowError.config("no host '\(name)' in hosts.toml" + Suggestion.didYouMean(name, in: hosts.map(\.name)))
                }
                hosts = [h]
            }
            let probe = HostProbe(controlDirectory: project.storeDirectory.appendingPathComponent("ssh"))
            var reports: [HostReport] = []
            for h in hosts { reports.append(await probe.check(h)) }
            if json {
                Terminal.line(Terminal.json(reports))
            } else {
                for r in reports {
                    guard r.reachable else {
                        Terminal.line("\(Terminal.red("✗")) \(r.name): unreachable — \(r.error ?? "")")
                        continue
                    }
                    var facts: [String] = []
                    facts.append(r.rootWritable == false ? Terminal.red("root not writable") : "root writable")
                    if let free = r.freeDiskBytes { facts.append("\(free >> 30) GiB free") }
                    facts.append(r.gpus.isEmpty ? "no GPUs" : "GPUs: \(r.gpus.joined(separator: ", "))")
                    facts.append(r.workers.isEmpty ? "no worker installed" : "\(r.workers.count) worker(s) installed")
                    if !r.missing.isEmpty { facts.append(Terminal.yellow("missing: \(r.missing.joined(separator: ", "))")) }
                    Terminal.line("\(Terminal.green("✓")) \(r.name): \(facts.joined(separator: "; "))")
                }
            }
            if reports.contains(where: { !$0.reachable || $0.rootWritable == false }) { throw ExitCode(1) }
        }
    }
}

