import Foundation
import Testing
@testable import FlowLLM

/// Bad inputs to `LoRAMerge`: each names the file and tensor at fault, and leaves nothing behind.
@Suite struct MergeErrorTests {
    /// Copies a fixture directory into `scratch` so a test can spoil it.
    private func copyFixture(_ name: String, to scratch: URL) throws -> URL {
        let destination = scratch.appendingPathComponent(name)
        try FileManager.default.copyItem(at: MergeFixtures.url(name), to: destination)
        return destination
    }

    /// An adapter directory holding `tensors` (PEFT names) and a config with r = 4, alpha = 8 and `modulesToSave`.
    private func writeAdapter(_ tensors: [(String, [Int])], to directory: URL, rank: Int = 4,
                              modulesToSave: String = "null") throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = #"{"peft_type": "LORA", "r": \#(rank), "lora_alpha": 8, "fan_in_fan_out": false, "bias": "none", "modules_to_save": \#(modulesToSave)}"#
        try Data(config.utf8).write(to: directory.appendingPathComponent("adapter_config.json"))
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        for (name, shape) in tensors { try writer.add(name, Tensor(zeros: shape)) }
        try writer.write(to: directory.appendingPathComponent("adapter_model.safetensors"))
        return directory
    }

    /// Runs the merge expecting a `LoRAMergeError` of `kind`; checks no output or temporary directory is left.
    private func expectFailure(base: URL, adapter: URL, in scratch: URL, kind: LoRAMergeError.Kind,
                               mentioning fragments: [String]) throws {
        let output = scratch.appendingPathComponent("out")
        let before = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
        let error = try #require(throws: LoRAMergeError.self) {
            _ = try LoRAMerge(base: base, adapter: adapter).run(into: output)
        }
        #expect(error.kind == kind, "\(error)")
        for fragment in fragments { #expect(error.description.contains(fragment), "\(error) should mention \(fragment)") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == before)
    }

    @Test func rankDifferentFromTheConfigIsRefused() throws {
        try withTemporaryDirectory { scratch in
            let adapter = try copyFixture("adapter", to: scratch)
            let configURL = adapter.appendingPathComponent("adapter_config.json")
            var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
            config["r"] = 8
            try JSONSerialization.data(withJSONObject: config).write(to: configURL)
            try expectFailure(base: MergeFixtures.url("base-f32"), adapter: adapter, in: scratch, kind: .adapterTensors,
                              mentioning: ["adapter_model.safetensors", "lora_", "r = 8"])
        }
    }

    @Test func targetMissingFromTheBaseIsRefused() throws {
        try withTemporaryDirectory { scratch in
            let prefix = "base_model.model.model.layers.7.self_attn.q_proj"  // the base has layers 0 and 1
            let adapter = try writeAdapter([(prefix + ".lora_A.weight", [4, 32]), (prefix + ".lora_B.weight", [32, 4])],
                                           to: scratch.appendingPathComponent("adapter"))
            try expectFailure(base: MergeFixtures.url("base-bf16"), adapter: adapter, in: scratch, kind: .wrongModel,
                              mentioning: ["model.layers.7.self_attn.q_proj.weight", "does not have"])
        }
    }

    @Test func adapterForAnotherModelShapeIsRefused() throws {
        try withTemporaryDirectory { scratch in
            let prefix = "base_model.model.model.layers.0.mlp.up_proj"  // base up_proj is [64, 32]
            let adapter = try writeAdapter([(prefix + ".lora_A.weight", [4, 48]), (prefix + ".lora_B.weight", [96, 4])],
                                           to: scratch.appendingPathComponent("adapter"))
            try expectFailure(base: MergeFixtures.url("base-bf16"), adapter: adapter, in: scratch, kind: .wrongModel,
                              mentioning: ["lora_A.weight", "[96, 48]", "[64, 32]", "another model"])
        }
    }

    /// A saved module copy (modules_to_save) must have its base tensor's shape, e.g. the same vocabulary; a
    /// whole-module tensor in an adapter that lists no modules_to_save is refused too.
    @Test func savedModuleOfAnotherShapeIsRefused() throws {
        try withTemporaryDirectory { scratch in
            let q = "base_model.model.model.layers.0.self_attn.q_proj"
            let pair = [(q + ".lora_A.weight", [4, 32]), (q + ".lora_B.weight", [32, 4])]
            let wider = try writeAdapter(pair + [("base_model.model.lm_head.weight", [70, 32])],  // the base vocab is 64
                                         to: scratch.appendingPathComponent("wider"), modulesToSave: #"["lm_head"]"#)
            try expectFailure(base: MergeFixtures.url("base-f32"), adapter: wider, in: scratch, kind: .wrongModel,
                              mentioning: ["base_model.model.lm_head.weight", "[70, 32]", "[64, 32]", "vocabulary"])
            let unlisted = try writeAdapter(pair + [("base_model.model.lm_head.weight", [64, 32])],
                                            to: scratch.appendingPathComponent("unlisted"))
            try expectFailure(base: MergeFixtures.url("base-f32"), adapter: unlisted, in: scratch, kind: .adapterTensors,
                              mentioning: ["base_model.model.lm_head.weight", "modules_to_save"])
        }
    }

    @Test func loraAWithoutLoraBIsRefused() throws {
        try withTemporaryDirectory { scratch in
            let adapter = try writeAdapter([("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", [4, 32])],
                                           to: scratch.appendingPathComponent("adapter"))
            try expectFailure(base: MergeFixtures.url("base-f32"), adapter: adapter, in: scratch, kind: .adapterTensors,
                              mentioning: ["q_proj.lora_A.weight", "lora_B"])
        }
    }

    @Test func float8BaseIsRefused() throws {
        try withTemporaryDirectory { scratch in
            let base = scratch.appendingPathComponent("base-f8")
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            var writer = SafeTensorsWriter(metadata: ["format": "pt"])
            try writer.add("model.layers.0.self_attn.q_proj.weight", rawBytes: [UInt8](repeating: 0x38, count: 32 * 32),
                           dtype: .f8e4m3, shape: [32, 32])
            try writer.write(to: base.appendingPathComponent("model.safetensors"))
            let prefix = "base_model.model.model.layers.0.self_attn.q_proj"
            let adapter = try writeAdapter([(prefix + ".lora_A.weight", [4, 32]), (prefix + ".lora_B.weight", [32, 4])],
                                           to: scratch.appendingPathComponent("adapter"))
            try expectFailure(base: base, adapter: adapter, in: scratch, kind: .quantizedBase,
                              mentioning: ["F8_E4M3", "merge into the unquantized base", "q_proj.weight"])
        }
    }

    @Test func baseWithQuantizationConfigIsRefused() throws {
        try withTemporaryDirectory { scratch in
            let base = try copyFixture("base-bf16", to: scratch)
            let configURL = base.appendingPathComponent("config.json")
            var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
            config["quantization_config"] = ["load_in_4bit": true, "quant_method": "bitsandbytes"]
            try JSONSerialization.data(withJSONObject: config).write(to: configURL)
            try expectFailure(base: base, adapter: MergeFixtures.url("adapter"), in: scratch, kind: .quantizedBase,
                              mentioning: ["config.json", "unquantized base"])
        }
    }

    @Test func nonEmptyOutputIsNotOverwritten() throws {
        try withTemporaryDirectory { scratch in
            let output = scratch.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            try Data("keep".utf8).write(to: output.appendingPathComponent("precious.txt"))
            let error = try #require(throws: LoRAMergeError.self) {
                _ = try LoRAMerge(base: MergeFixtures.url("base-f32"), adapter: MergeFixtures.url("adapter")).run(into: output)
            }
            #expect(error.kind == .outputExists)
            #expect(try FileManager.default.contentsOfDirectory(atPath: output.path) == ["precious.txt"])
        }
    }
}
