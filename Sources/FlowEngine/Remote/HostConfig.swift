import Foundation
import TOMLKit

/// A machine steps can run on: `local`, or a host reached with the system OpenSSH client.
public struct HostConfig: Sendable, Equatable {
    public var name: String
    /// `user@host`, `host`, or an `~/.ssh/config` alias; nil for `local`.
    public var ssh: String?
    public var port: Int?
    public var identityFile: String?
    /// Extra `-o Key=Value` options (e.g. `UserKnownHostsFile=...`), passed as given.
    public var sshOptions: [String]
    /// Where flow keeps its store and workers on the host.
    public var root: String
    /// GPU names as `nvidia-smi` reports them, index i being CUDA device i; empty means ask `nvidia-smi` there
    /// (by `flow hosts check`, and before a run places GPU steps).
    public var gpus: [String]
    /// How many steps may run there at once.
    public var slots: Int
    public var env: [String: String]

    public var isLocal: Bool { ssh == nil }

    public static func local(root: String) -> HostConfig {
        HostConfig(name: "local", ssh: nil, port: nil, identityFile: nil, sshOptions: [], root: root, gpus: [],
                   slots: ProcessInfo.processInfo.activeProcessorCount, env: [:])
    }
}

/// `hosts.toml`: the hosts a project may run steps on (git-ignored; `hosts.example.toml` documents it).
public enum HostsFile {
    /// Reads `hosts.toml` in the project (none is fine: then only `local` exists).
    public static func load(_ project: Project) throws -> [HostConfig] {
        let url = project.root.appendingPathComponent("hosts.toml")
        var hosts = [HostConfig.local(root: project.storeDirectory.path)]
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return hosts }
        hosts += try parse(text, file: url.path)
        return hosts
    }

    public static func parse(_ text: String, file: String) throws -> [HostConfig] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw FlowError.config("\(file):\(error.source.begin.line): \(error.description)")
        } catch {
            throw FlowError.config("\(file): \(error)")
        }
        guard let hostsTable = table["hosts"]?.table else {
            if table.keys.isEmpty { return [] }
            throw FlowError.config("\(file): expected [hosts.NAME] tables", hint: "see hosts.example.toml")
        }
        var hosts: [HostConfig] = []
        let known = ["ssh", "port", "identity_file", "ssh_options", "root", "gpus", "slots", "env"]
        for name in hostsTable.keys.sorted() {
            guard let h = hostsTable[name]?.table else {
                throw FlowError.config("\(file): hosts.\(name) must be a table")
            }
            guard name != "local" else {
                throw FlowError.config("\(file): 'local' is always this machine; give the host another name")
            }
            for key in h.keys where !known.contains(key) {
                throw FlowError.config("\(file): hosts.\(name).\(key) is not a host setting"
                    + Suggestion.didYouMean(key, in: known), hint: "settings: \(known.joined(separator: ", "))")
            }
            guard let ssh = h["ssh"]?.string, !ssh.isEmpty else {
                throw FlowError.config("\(file): hosts.\(name) needs ssh = \"user@host\" (or an ~/.ssh/config alias)")
            }
            guard let root = h["root"]?.string, root.hasPrefix("/") || root.hasPrefix("~") else {
                throw FlowError.config("\(file): hosts.\(name) needs root = \"/absolute/path\" for flow's files on that host")
            }
            hosts.append(HostConfig(
                name: name, ssh: ssh, port: h["port"]?.int, identityFile: h["identity_file"]?.string,
                sshOptions: h["ssh_options"]?.array?.compactMap { $0.string } ?? [],
                root: root, gpus: h["gpus"]?.array?.compactMap { $0.string } ?? [],
                slots: h["slots"]?.int ?? 1,
                env: (h["env"]?.table).map { t in
                    Dictionary(uniqueKeysWithValues: t.keys.compactMap { k in t[k]?.string.map { (k, $0) } })
                } ?? [:]))
        }
        return hosts
    }
}
