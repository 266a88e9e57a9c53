@testable import FlowEngine
import FlowKit
import Foundation
import Testing

/// Host choice and GPU allocation, with hosts that declare their GPUs (so nothing is probed).
@Suite struct PlacementTests {
    func host(_ name: String, gpus: [String], slots: Int = 4) -> HostConfig {
        HostConfig(name: name, ssh: "u@\(name)", port: nil, identityFile: nil, sshOptions: [], root: "/flow",
                   gpus: gpus, slots: slots, env: [:])
    }

    /// Steps `(name, gpu alternatives, is a command)`, none depending on another.
    func placement(_ steps: [(String, [String], Bool)], hosts: [HostConfig], localGPUs: [String] = [],
                   pinned: String? = nil) async throws -> Placement {
        let specs = steps.enumerated().map { i, s in
            var attributes = StepAttributes()
            attributes.gpu = s.1
            return StepSpec(name: s.0, command: s.2 ? "true" : nil, attributes: attributes, file: "/p/W.swift", line: i + 2)
        }
        let graph = try WorkflowGraph(WorkflowSpec(name: "w", params: [], steps: specs, preprocessingStep: nil,
                                                   defaultTargets: [], file: "/p/W.swift", line: 1))
        var local = HostConfig.local(root: "/tmp/flow-local")
        local.gpus = localGPUs
        return try await Placement.make(
            steps: specs.map(\.name), graph: graph, pinned: pinned, local: local, hosts: { [local] + hosts },
            probe: HostProbe(controlDirectory: URL(fileURLWithPath: "/tmp/flow-placement-tests")))
    }

    @Test func smallRequestsTakeTheSmallestHostFirstAndQueueWhenEveryCapableGPUIsBusy() async throws {
        let p = try await placement(
            [("a", ["any"], true), ("b", ["any"], true), ("c", ["any"], true), ("d", ["any"], true), ("cpu", [], true)],
            hosts: [host("big", gpus: ["A100-80GB", "A100-80GB"]), host("a10", gpus: ["A10G"])])
        #expect(p.hosts(for: "a").map(\.name) == ["a10", "big"])
        #expect(p.hosts(for: "cpu").map(\.name) == ["local"])
        var hosts = HostAllocator(placement: p, cpuSlots: 2, memoryMiB: 1024)
        let aGrant = hosts.acquire("a", cpu: 1, memoryMiB: 0)
        let a = try #require(aGrant)
        #expect(a.host.name == "a10" && a.gpus == [0])
        let bGrant = hosts.acquire("b", cpu: 1, memoryMiB: 0)
        let b = try #require(bGrant)
        let cGrant = hosts.acquire("c", cpu: 1, memoryMiB: 0)
        let c = try #require(cGrant)
        #expect(b.host.name == "big" && c.host.name == "big" && Set(b.gpus + c.gpus) == [0, 1])
        let dBusy = hosts.acquire("d", cpu: 1, memoryMiB: 0)
        #expect(dBusy == nil)
        #expect(hosts.waitReason("d") == "waiting for a GPU (any:1) on a10, big")
        #expect(hosts.waitReason("cpu") == nil)
        hosts.release(b)
        let dGrant = hosts.acquire("d", cpu: 1, memoryMiB: 0)
        let d = try #require(dGrant)
        #expect(d.host.name == "big" && d.gpus == b.gpus)
        // Remote steps take none of this machine's CPU slots.
        let cpuGrant = hosts.acquire("cpu", cpu: 2, memoryMiB: 0)
        #expect(cpuGrant?.host.name == "local")
    }

    @Test func theFirstAlternativeFreeAnywhereWinsAndHostSlotsAreRespected() async throws {
        let p = try await placement([("x", ["H100", "A10G"], true), ("y", ["H100", "A10G"], true)],
                                    hosts: [host("h", gpus: ["H100", "H100"], slots: 1), host("a10", gpus: ["A10G"])])
        var hosts = HostAllocator(placement: p, cpuSlots: 1, memoryMiB: 1024)
        let xGrant = hosts.acquire("x", cpu: 1, memoryMiB: 0)
        #expect(xGrant?.host.name == "h")
        // h has a free H100 but no free slot: the A10G alternative runs now instead of waiting.
        let yGrant = hosts.acquire("y", cpu: 1, memoryMiB: 0)
        #expect(yGrant?.host.name == "a10")
    }

    @Test func aWaitForAFullHostSaysSlotNotGPU() async throws {
        let p = try await placement([("x", ["A100"], true), ("y", ["A100"], true)],
                                    hosts: [host("big", gpus: ["A100", "A100"], slots: 1)])
        var hosts = HostAllocator(placement: p, cpuSlots: 1, memoryMiB: 1024)
        let xGrant = hosts.acquire("x", cpu: 1, memoryMiB: 0)
        #expect(xGrant?.gpus == [0])
        let yGrant = hosts.acquire("y", cpu: 1, memoryMiB: 0)
        #expect(yGrant == nil)
        #expect(hosts.waitReason("y") == "waiting for a free slot on big")
    }

    @Test func functionStepsGoWhereTheirGPUsAreLikeCommandSteps() async throws {
        let remote = [host("a10", gpus: ["A10G"])]
        let local = try await placement([("fn", ["A10G"], false)], hosts: remote, localGPUs: ["NVIDIA A10G"])
        #expect(local.hosts(for: "fn").map(\.name) == ["local", "a10"])
        let away = try await placement([("fn", ["A10G"], false), ("cpu", [], false)], hosts: remote)
        #expect(away.hosts(for: "fn").map(\.name) == ["a10"])
        #expect(away.hosts(for: "cpu").map(\.name) == ["local"])
        // --host puts every step there, GPU or not.
        let pinned = try await placement([("cmd", [], true)], hosts: remote, pinned: "a10")
        #expect(pinned.hosts(for: "cmd").map(\.name) == ["a10"])
    }

    @Test func noCapableHostNamesTheStepAndEveryHostsGPUs() async throws {
        await #expect {
            try await placement([("train", ["H100:2"], true)], hosts: [host("a10", gpus: ["A10G"])])
        } throws: { error in
            let m = (error as! FlowError).message
            return m.contains("step 'train' needs gpu H100:2") && m.contains("host 'local' has")
                && m.contains("host 'a10' has 0: A10G")
        }
    }
}
