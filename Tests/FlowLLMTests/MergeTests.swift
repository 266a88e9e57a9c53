import Foundation
import Testing
@testable import FlowLLM

/// The fixtures written by `scripts/fixtures/merge.py`: a tiny Llama saved by transformers in F32 and BF16
/// (several shards each), two PEFT adapters, and PEFT's `merge_and_unload` results.
enum MergeFixtures {
    static var directory: URL {
        get throws { try #require(Bundle.module.url(forResource: "merge", withExtension: nil, subdirectory: "Fixtures")) }
    }

    static func url(_ name: String) throws -> URL { try directory.appendingPathComponent(name) }

    /// Runs the merge of `adapter` into `base` into a fresh directory and hands it to `body`.
    static func merged<T>(base: String, adapter: String, configure: (inout LoRAMerge) -> Void = { _ in },
                          _ body: (URL, MergeSummary) throws -> T) throws -> T {
        try withTemporaryDirectory { scratch in
            let output = scratch.appendingPathComponent("merged")
            var merge = LoRAMerge(base: try url(base), adapter: try url(adapter))
            configure(&merge)
            let summary = try merge.run(into: output)
            return try body(output, summary)
        }
    }

    /// Checks that the checkpoint at `output` has exactly `expected`'s tensors, each within `tolerance(name)` of it.
    static func expectClose(_ output: URL, to expected: SafeTensorsFile, tolerance: (String) -> Float) throws {
        let merged = try ShardedSafeTensors(directory: output)
        #expect(Set(merged.tensorNames) == Set(expected.tensorNames))
        for name in expected.tensorNames {
            let want = try expected.tensor(name, expectedShape: nil)
            let got = try merged.tensor(name, expectedShape: want.shape)
            var worst: Float = 0
            for i in 0..<want.count { worst = max(worst, abs(got.data[i] - want.data[i])) }
            #expect(worst <= tolerance(name), "\(name): max |flow − peft| = \(worst)")
        }
    }

    /// The bytes of every tensor in the checkpoint at `directory`, by name.
    static func rawTensors(_ directory: URL) throws -> [String: [UInt8]] {
        let checkpoint = try ShardedSafeTensors(directory: directory)
        var out: [String: [UInt8]] = [:]
        for file in checkpoint.files {
            for name in file.tensorNames { out[name] = Array(try file.rawBytes(name)) }
        }
        return out
    }
}

@Suite struct MergeTests {
    @Test(arguments: ["adapter", "adapter-rslora"])
    func f32BaseMatchesPEFT(adapter: String) throws {
        let expected = try SafeTensorsFile(url: MergeFixtures.url("expected-\(adapter)-f32.safetensors"))
        try MergeFixtures.merged(base: "base-f32", adapter: adapter) { output, summary in
            #expect(summary.tensorsMerged == (adapter == "adapter" ? 14 : 6))
            try MergeFixtures.expectClose(output, to: expected) { _ in 1e-6 }
        }
    }

    @Test(arguments: ["adapter", "adapter-rslora"])
    func bf16BaseMatchesPEFTBitForBit(adapter: String) throws {
        let expected = try SafeTensorsFile(url: MergeFixtures.url("expected-\(adapter)-bf16.safetensors"))
        try MergeFixtures.merged(base: "base-bf16", adapter: adapter) { output, summary in
            #expect(summary.tensorsMerged == (adapter == "adapter" ? 14 : 6))
            let merged = try MergeFixtures.rawTensors(output)
            #expect(Set(merged.keys) == Set(expected.tensorNames))
            for name in expected.tensorNames {
                #expect(expected.info(name)?.dtype == .bf16)
                #expect(merged[name] == Array(try expected.rawBytes(name)), "\(name) differs from peft's merge rounded to BF16")
            }
        }
    }

    @Test func unadaptedTensorsAndLayoutAreCopiedByteForByte() throws {
        let base = try MergeFixtures.url("base-bf16")
        let original = try MergeFixtures.rawTensors(base)
        let adapted = Set(try PEFTAdapterPairs(directory: MergeFixtures.url("adapter-rslora")).pairs.keys)
        try MergeFixtures.merged(base: "base-bf16", adapter: "adapter-rslora") { output, summary in
            let merged = try MergeFixtures.rawTensors(output)
            #expect(summary.tensorsCopied == original.count - adapted.count)
            for (name, bytes) in original {
                if adapted.contains(name) {
                    #expect(merged[name] != bytes, "\(name) has a LoRA pair but was not changed")
                } else {
                    #expect(merged[name] == bytes, "\(name) has no LoRA pair but its bytes changed")
                }
            }
            // Same shard names, sizes and headers: the base's layout.
            let shards = try ShardedSafeTensors(directory: base).files
            #expect(summary.shardsWritten == shards.count)
            var written = 0
            for shard in shards {
                let copy = try SafeTensorsFile(url: output.appendingPathComponent(shard.url.lastPathComponent))
                #expect(copy.tensors == shard.tensors)
                #expect(copy.metadata == shard.metadata)
                let size = try #require(try FileManager.default.attributesOfItem(atPath: copy.url.path)[.size] as? Int)
                written += size
            }
            #expect(summary.bytesWritten == written)
        }
    }

    @Test func indexHasWeightMapAndTotalSizeInBytesAndOtherFilesAreCopied() throws {
        let base = try MergeFixtures.url("base-f32")
        try MergeFixtures.merged(base: "base-f32", adapter: "adapter") { output, summary in
            let index = try #require(try JSONSerialization.jsonObject(
                with: Data(contentsOf: output.appendingPathComponent("model.safetensors.index.json"))) as? [String: Any])
            let baseIndex = try #require(try JSONSerialization.jsonObject(
                with: Data(contentsOf: base.appendingPathComponent("model.safetensors.index.json"))) as? [String: Any])
            #expect(index["weight_map"] as? [String: String] == baseIndex["weight_map"] as? [String: String])
            let checkpoint = try ShardedSafeTensors(directory: output)  // also checks every mapped tensor is where the map says
            let dataBytes = checkpoint.files.reduce(0) { $0 + $1.tensors.reduce(0) { $0 + $1.dataOffsets.count } }
            // 22,688 F32 parameters (counted by transformers in the base index) → 90,752 bytes.
            #expect(dataBytes == 22_688 * 4)
            let metadata = try #require(index["metadata"] as? [String: Any])
            #expect(metadata["total_size"] as? Int == dataBytes)
            #expect(metadata["total_parameters"] as? Int == 22_688)

            let others = ["config.json", "generation_config.json", "special_tokens_map.json", "tokenizer_config.json"]
            #expect(summary.filesCopied == others)
            for name in others {
                #expect(try Data(contentsOf: output.appendingPathComponent(name)) == Data(contentsOf: base.appendingPathComponent(name)))
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: output.deletingLastPathComponent().path)
            #expect(leftovers == ["merged"], "the temporary directory should have been renamed away")
        }
    }

    @Test func rowBlocksAndThreadsDoNotChangeTheResult() throws {
        let whole = try MergeFixtures.merged(base: "base-bf16", adapter: "adapter") { output, _ in
            try MergeFixtures.rawTensors(output)
        }
        let blocked = try MergeFixtures.merged(base: "base-bf16", adapter: "adapter", configure: {
            $0.blockElements = 200  // 6 rows of 32 columns, 3 of 64: several blocks per tensor, uneven last one
            $0.threads = ComputeThreads(count: 2)
        }) { output, summary in
            #expect(summary.peakTensorBytes < (64 * 32 + 4 * 64 + 32 * 4) * 4, "only a block of W should be held")
            return try MergeFixtures.rawTensors(output)
        }
        #expect(blocked == whole)
    }

    @Test func singleFileBaseAndOlderAdapterNamesMerge() throws {
        try withTemporaryDirectory { scratch in
            // The BF16 base as one model.safetensors (no index), beside unmerged .bin weights and a folder.
            let base = scratch.appendingPathComponent("base")
            try FileManager.default.createDirectory(at: base.appendingPathComponent("original"), withIntermediateDirectories: true)
            var baseWriter = SafeTensorsWriter(metadata: ["format": "pt"])
            for file in try ShardedSafeTensors(directory: MergeFixtures.url("base-bf16")).files {
                for info in file.tensors {
                    try baseWriter.add(info.name, rawBytes: Array(try file.rawBytes(info.name)), dtype: info.dtype, shape: info.shape)
                }
            }
            try baseWriter.write(to: base.appendingPathComponent("model.safetensors"))
            try FileManager.default.copyItem(at: MergeFixtures.url("base-bf16/config.json"), to: base.appendingPathComponent("config.json"))
            try Data("stale".utf8).write(to: base.appendingPathComponent("pytorch_model.bin"))

            // The adapter with the adapter name left in its keys, as older PEFT versions saved them.
            let adapter = scratch.appendingPathComponent("adapter")
            try FileManager.default.createDirectory(at: adapter, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: MergeFixtures.url("adapter/adapter_config.json"),
                                             to: adapter.appendingPathComponent("adapter_config.json"))
            let original = try SafeTensorsFile(url: MergeFixtures.url("adapter/adapter_model.safetensors"))
            var adapterWriter = SafeTensorsWriter(metadata: ["format": "pt"])
            for info in original.tensors {
                let name = info.name.replacingOccurrences(of: ".weight", with: ".default.weight")
                try adapterWriter.add(name, rawBytes: Array(try original.rawBytes(info.name)), dtype: info.dtype, shape: info.shape)
            }
            try adapterWriter.write(to: adapter.appendingPathComponent("adapter_model.safetensors"))

            let output = scratch.appendingPathComponent("merged")
            let summary = try LoRAMerge(base: base, adapter: adapter).run(into: output)
            #expect(summary.tensorsMerged == 14)
            #expect(summary.filesCopied == ["config.json"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).sorted() == ["config.json", "model.safetensors"])
            let expected = try SafeTensorsFile(url: MergeFixtures.url("expected-adapter-bf16.safetensors"))
            let merged = try MergeFixtures.rawTensors(output)
            for name in expected.tensorNames { #expect(merged[name] == Array(try expected.rawBytes(name)), "\(name)") }
        }
    }

    @Test func anEmptyOutputDirectoryIsFilled() throws {
        try withTemporaryDirectory { scratch in
            let output = scratch.appendingPathComponent("merged")
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            let summary = try LoRAMerge(base: MergeFixtures.url("base-f32"), adapter: MergeFixtures.url("adapter")).run(into: output)
            #expect(summary.shardsWritten == 3)
            #expect(try ShardedSafeTensors(directory: output).tensorNames.count == summary.tensorsMerged + summary.tensorsCopied)
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["merged"])
        }
    }
}
