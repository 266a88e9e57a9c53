import FlowKit
import Foundation

/// Which hosts each step of a plan may run on. A step that asks for GPUs may go to any host whose GPUs (declared in
/// hosts.toml, or read from `nvidia-smi`) can satisfy one of its alternatives, `local` included; every other step
/// runs here. `flow run --host NAME` puts every step on that one host instead. Decided before the run starts, so a
/// step no host can run fails the run before anything runs.
public struct Placement: Sendable {
    /// A host steps may run on, with its GPUs.
    public struct Host: Sendable {
        public let config: HostConfig
        public let gpus: GPUInventory
        /// Why its GPUs are unknown (its probe failed); nil when they are known.
        public let problem: String?

        /// How a message names its GPUs.
        var summary: String { "host '\(config.name)' has " + (problem.map { "no known GPUs (\($0))" } ?? gpus.summary) }
    }

    /// The hosts the plan may use.
    public let hosts: [Host]
    /// Each GPU step's requests (fallbacks in order).
    public let gpuRequests: [String: [GPURequest]]
    /// The hosts (indices into `hosts`) each planned step may run on, the best fit first.
    let candidates: [String: [Int]]

    /// The hosts `step` may run on.
    public func hosts(for step: String) -> [HostConfig] {
        candidates[step, default: []].map { hosts[$0].config }
    }

    /// Places the planned steps; fails (exit code 2) naming each step no host can run and every host's GPUs.
    /// - Parameters:
    ///   - pinned: `--host NAME`: every step runs there.
    ///   - hosts: `local` and the hosts of hosts.toml (read only when needed).
    ///   - probe: reads the GPUs of hosts that declare none.
    static func make(steps: [String], graph: WorkflowGraph, pinned: String?, local: HostConfig,
                     hosts: () throws -> [HostConfig], probe: HostProbe) async throws -> Placement
    {
        var gpuRequests: [String: [GPURequest]] = [:]
        for name in steps {
            guard let specs = graph.step(name)?.attributes.gpu, !specs.isEmpty else { continue }
            gpuRequests[name] = try specs.map { try GPURequest($0, step: name) }
        }
        let configs = try consideredHosts(pinned: pinned, local: local, needGPUs: !gpuRequests.isEmpty, hosts: hosts)
        let inventory = gpuRequests.isEmpty ? configs.map { Host(config: $0, gpus: GPUInventory(devices: []), problem: nil) }
            : await probeGPUs(configs, probe: probe)

        var candidates: [String: [Int]] = [:]
        var unsatisfiable: [String] = []
        let everyHost = Array(inventory.indices)
        for name in steps {
            guard let step = graph.step(name) else { continue }
            guard let requests = gpuRequests[name] else {
                candidates[name] = pinned == nil ? everyHost.filter { inventory[$0].config.isLocal } : everyHost
                continue
            }
            let capable = everyHost.filter { inventory[$0].gpus.firstSatisfiable(requests) != nil }
            guard !capable.isEmpty else {
                unsatisfiable.append("step '\(name)' needs gpu \(step.attributes.gpu.joined(separator: " or "))")
                continue
            }
            // Fewest GPUs first, so a small request leaves the big machines to the big ones.
            candidates[name] = capable.sorted { a, b in
                (inventory[a].gpus.devices.count, inventory[a].config.isLocal ? 0 : 1, a)
                    < (inventory[b].gpus.devices.count, inventory[b].config.isLocal ? 0 : 1, b)
            }
        }
        if !unsatisfiable.isEmpty {
            throw FlowError.config(
                "no host can run this plan:\n  - " + unsatisfiable.joined(separator: "\n  - ")
                    + inventory.map { "\n  " + $0.summary }.joined(),
                hint: pinned == nil
                    ? "declare a host with those GPUs in hosts.toml (see hosts.example.toml) or pick one with --host NAME; "
                        + "or drop .gpu(...) to run on the CPU"
                    : "run on a GPU host (--host NAME with hosts.toml), or drop .gpu(...) to run on the CPU")
        }
        return Placement(hosts: inventory, gpuRequests: gpuRequests, candidates: candidates)
    }

    /// The hosts a plan may use: the `--host` one, else `local` and (when some step needs GPUs) those of hosts.toml.
    static func consideredHosts(pinned: String?, local: HostConfig, needGPUs: Bool, hosts: () throws -> [HostConfig])
        throws -> [HostConfig]
    {
        guard let pinned, pinned != local.name else { return needGPUs && pinned == nil ? try hosts() : [local] }
        let all = try hosts()
        guard let host = all.first(where: { $0.name == pinned }) else {
            throw FlowError.config("no host '\(pinned)' in hosts.toml" + Suggestion.didYouMean(pinned, in: all.map(\.name)),
                                   hint: "declare it in hosts.toml (see hosts.example.toml); `flow hosts ls` lists hosts")
        }
        return [host]
    }

    /// Each host's GPUs: those it declares, else what `nvidia-smi` shows there (read over SSH, all hosts at once).
    static func probeGPUs(_ configs: [HostConfig], probe: HostProbe) async -> [Host] {
        await withTaskGroup(of: (Int, Host).self) { group in
            for (i, config) in configs.enumerated() {
                group.addTask {
                    if !config.gpus.isEmpty { return (i, Host(config: config, gpus: GPUInventory(names: config.gpus), problem: nil)) }
                    if config.isLocal { return (i, Host(config: config, gpus: .probeLocal(), problem: nil)) }
                    let report = await probe.check(config)
                    return (i, Host(config: config, gpus: GPUInventory(names: report.gpus),
                                    problem: report.reachable ? nil : "unreachable: \(report.error ?? "no answer")"))
                }
            }
            var hosts: [(Int, Host)] = []
            for await h in group { hosts.append(h) }
            return hosts.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }
}
