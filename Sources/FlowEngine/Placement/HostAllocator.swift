import Foundation

/// What each host of a placement has free while a run goes, and where a ready step can start now. Steps placed
/// here share this machine's CPU slots and memory; a remote host takes as many steps at once as its `slots`; a GPU
/// belongs to one step at a time. Not thread-safe: the run's scheduler owns it.
struct HostAllocator {
    /// Where a step was started: the host, the GPU indices it holds there and the local resources it took.
    struct Grant: Sendable {
        let host: HostConfig
        let gpus: [Int]
        fileprivate let hostIndex: Int
        fileprivate let cpu: Int
        fileprivate let memoryMiB: Int
    }

    private let placement: Placement
    private var freeCPU: Int
    private var freeMemoryMiB: Int
    private var freeSlots: [Int]
    private var freeGPUs: [Set<Int>]

    init(placement: Placement, cpuSlots: Int, memoryMiB: Int) {
        self.placement = placement
        freeCPU = cpuSlots
        freeMemoryMiB = memoryMiB
        freeSlots = placement.hosts.map { max(1, $0.config.slots) }
        freeGPUs = placement.hosts.map { Set($0.gpus.devices.map(\.index)) }
    }

    /// Takes what `step` needs on a host that has it free now, or returns nil (the step waits). The step's first GPU
    /// alternative is tried on every capable host before its next one; hosts in the placement's best-fit order.
    /// - Parameters:
    ///   - cpu: the CPU slots it takes when it runs here.
    ///   - memoryMiB: the memory it takes when it runs here.
    mutating func acquire(_ step: String, cpu: Int, memoryMiB: Int) -> Grant? {
        let hosts = placement.candidates[step, default: []]
        let alternatives: [GPURequest?] = placement.gpuRequests[step]?.map { $0 } ?? [nil]
        for request in alternatives {
            for h in hosts where fits(h, cpu: cpu, memoryMiB: memoryMiB) {
                var gpus: [Int] = []
                if let request {
                    guard let picked = placement.hosts[h].gpus.allocate([request], free: freeGPUs[h]) else { continue }
                    gpus = picked
                }
                let local = placement.hosts[h].config.isLocal
                let grant = Grant(host: placement.hosts[h].config, gpus: gpus, hostIndex: h,
                                  cpu: local ? cpu : 0, memoryMiB: local ? memoryMiB : 0)
                take(grant, sign: -1)
                return grant
            }
        }
        return nil
    }

    /// Whether any step could start: this machine has a CPU slot free or a remote host a slot.
    var hasRoom: Bool {
        freeCPU > 0 || placement.hosts.indices.contains { !placement.hosts[$0].config.isLocal && freeSlots[$0] > 0 }
    }

    /// Gives back what a finished step held.
    mutating func release(_ grant: Grant) {
        take(grant, sign: 1)
    }

    /// What a step that cannot start waits for: a GPU, or a slot on a remote host; nil when it waits only for this
    /// machine's CPU slots or memory (as every local step may).
    func waitReason(_ step: String) -> String? {
        let hosts = placement.candidates[step, default: []]
        let name = { (h: Int) in self.placement.hosts[h].config.name }
        if let requests = placement.gpuRequests[step],
            !hosts.contains(where: { placement.hosts[$0].gpus.allocate(requests, free: freeGPUs[$0]) != nil })
        {
            let wanted = requests.map(\.description).joined(separator: " or ")
            return "waiting for a GPU (\(wanted)) on \(hosts.map(name).joined(separator: ", "))"
        }
        let remote = hosts.filter { !placement.hosts[$0].config.isLocal }
        return remote.isEmpty ? nil : "waiting for a free slot on \(remote.map(name).joined(separator: ", "))"
    }

    private func fits(_ h: Int, cpu: Int, memoryMiB: Int) -> Bool {
        placement.hosts[h].config.isLocal ? cpu <= freeCPU && memoryMiB <= freeMemoryMiB : freeSlots[h] > 0
    }

    private mutating func take(_ grant: Grant, sign: Int) {
        freeCPU += sign * grant.cpu
        freeMemoryMiB += sign * grant.memoryMiB
        if !grant.host.isLocal { freeSlots[grant.hostIndex] += sign }
        if sign < 0 { freeGPUs[grant.hostIndex].subtract(grant.gpus) } else { freeGPUs[grant.hostIndex].formUnion(grant.gpus) }
    }
}
