@testable import FlowEngine
import Testing

@Suite struct GPURequestTests {
    // Lines as `nvidia-smi --query-gpu=index,name --format=csv,noheader` prints them on real machines.
    let inventory = GPUInventory(nvidiaSMI: """
        0, NVIDIA A100-SXM4-80GB
        1, NVIDIA A100-SXM4-80GB
        2, NVIDIA A10G
        3, NVIDIA H100 80GB HBM3

        """)

    @Test func specsParseAndMatchDeviceNames() throws {
        let a100 = try GPURequest("A100-80GB:2", step: "train")
        #expect(a100.type == "A100-80GB" && a100.count == 2)
        #expect(a100.matches(deviceName: "NVIDIA A100-SXM4-80GB"))
        #expect(!a100.matches(deviceName: "NVIDIA A100-SXM4-40GB"))
        #expect(try GPURequest("a10g", step: "s").matches(deviceName: "NVIDIA A10G"))
        #expect(!(try GPURequest("A10", step: "s").matches(deviceName: "NVIDIA A100-SXM4-80GB")))
        #expect(try GPURequest("any:3", step: "s") == GPURequest("ANY:3", step: "s"))
        for bad in ["", "A100:0", "A100:x", "A 100", "A100:2:3"] {
            #expect(throws: FlowError.self) { try GPURequest(bad, step: "s") }
        }
    }

    @Test func allocationTakesTheFirstSatisfiableAlternativeAmongFreeDevices() throws {
        let h100x2 = try GPURequest("H100:2", step: "s"), a100x2 = try GPURequest("A100-80GB:2", step: "s")
        #expect(inventory.firstSatisfiable([h100x2]) == nil)
        #expect(inventory.firstSatisfiable([h100x2, a100x2]) == a100x2)
        #expect(inventory.allocate([h100x2, a100x2], free: [0, 1, 2, 3]) == [0, 1])
        #expect(inventory.allocate([a100x2], free: [1, 2, 3]) == nil)
        #expect(inventory.allocate([try GPURequest("any:2", step: "s")], free: [1, 3]) == [1, 3])
    }
}
