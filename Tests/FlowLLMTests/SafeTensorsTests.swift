import Foundation
import Testing
@testable import FlowLLM

@Suite struct SafeTensorsTests {
    @Test func writesAndReadsEveryFloatDType() throws {
        try withTemporaryDirectory { dir in
            let values: [Float] = [0, -1.5, 3.25, 1e-3, -7, 65504, 0.1, 2]
            let t = Tensor(shape: [2, 4], values: values)
            var writer = SafeTensorsWriter(metadata: ["format": "pt", "note": "quote \" and \\ and\nnewline"])
            try writer.add("a.f32", t)
            try writer.add("b.bf16", t, as: .bf16)
            try writer.add("c.f16", t, as: .f16)
            try writer.add("d.i64", rawBytes: [UInt8](repeating: 1, count: 16), dtype: .i64, shape: [2])
            let url = dir.appendingPathComponent("x.safetensors")
            try writer.write(to: url)

            let bytes = try Data(contentsOf: url)
            let headerLength = bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            #expect((8 + headerLength) % 8 == 0, "data section must start 8-byte aligned")

            let file = try SafeTensorsFile(url: url)
            #expect(file.metadata == writer.metadata)
            #expect(file.tensorNames == ["a.f32", "b.bf16", "c.f16", "d.i64"])
            #expect(try file.tensor("a.f32").values == values)
            #expect(try file.tensor("b.bf16").values == values.map { FloatConversion.float(bfloat16Bits: FloatConversion.bfloat16Bits($0)) })
            #expect(try file.tensor("c.f16").values == values.map { FloatConversion.float(float16Bits: FloatConversion.float16Bits($0)) })
            #expect(file.info("b.bf16")?.shape == [2, 4])
            #expect(throws: SafeTensorsError.self) { try file.tensor("d.i64") }
            #expect(throws: SafeTensorsError.self) { try file.tensor("a.f32", expectedShape: [4, 2]) }
            #expect(throws: SafeTensorsError.self) { try file.tensor("missing") }
        }
    }

    /// Bit-exact against torch's `.to(torch.bfloat16)` / `.to(torch.float16)`, ties, subnormals and NaN included.
    @Test func conversionsMatchTorchBitForBit() throws {
        let file = try LlamaFixtures.file("conversions.safetensors")
        let f32 = try file.tensor("f32")
        let bf16 = try file.rawBytes("bf16"), f16 = try file.rawBytes("f16")
        for i in 0..<f32.count {
            let torchBF16 = bf16.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
            let torchF16 = f16.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
            if f32.data[i].isNaN {
                // torch's scalar path gives 0x7FC0 and its AVX-512 path 0xFFFF: any quiet NaN is torch's answer.
                #expect(FloatConversion.float(bfloat16Bits: FloatConversion.bfloat16Bits(f32.data[i])).isNaN)
                #expect(FloatConversion.float(bfloat16Bits: torchBF16).isNaN)
                #expect(FloatConversion.float(float16Bits: FloatConversion.float16Bits(f32.data[i])).isNaN)
                continue
            }
            #expect(FloatConversion.bfloat16Bits(f32.data[i]) == torchBF16, "bf16 of \(f32.data[i])")
            #expect(FloatConversion.float16Bits(f32.data[i]) == torchF16, "f16 of \(f32.data[i])")
            // Decoding is exact: re-encoding the decoded value gives the same bits.
            #expect(FloatConversion.bfloat16Bits(FloatConversion.float(bfloat16Bits: torchBF16)) == torchBF16)
            #expect(FloatConversion.float16Bits(FloatConversion.float(float16Bits: torchF16)) == torchF16)
        }
    }

    /// The BF16 and F16 checkpoints torch wrote equal flow's own encoding of the F32 checkpoint, byte for byte.
    @Test func halfPrecisionCheckpointsMatchTorch() throws {
        let f32 = try ShardedSafeTensors(directory: LlamaFixtures.url("tiny-llama"))
        for (name, dtype) in [("tiny-llama-bf16.safetensors", SafeTensorsDType.bf16), ("tiny-llama-f16.safetensors", .f16)] {
            let torchFile = try LlamaFixtures.file(name)
            #expect(Set(torchFile.tensorNames) == Set(f32.tensorNames))
            for tensorName in f32.tensorNames {
                let values = try f32.tensor(tensorName)
                var encoded = [UInt8](repeating: 0, count: values.count * 2)
                encoded.withUnsafeMutableBytes { SafeTensorsDType.encode(dtype, from: values.data, count: values.count, into: $0.baseAddress!) }
                let torchBytes = try torchFile.rawBytes(tensorName)
                #expect(encoded == Array(torchBytes), "\(name) \(tensorName)")
                #expect(torchFile.info(tensorName)?.dtype == dtype)
            }
        }
    }

    @Test func shardsAtTheSizeLimitWithAByteIndex() throws {
        try withTemporaryDirectory { dir in
            let weights = LlamaWeights.random(LlamaConfig(vocabSize: 16, hiddenSize: 8, intermediateSize: 16, numHiddenLayers: 2,
                                                          numAttentionHeads: 2), seed: 1)
            var writer = SafeTensorsWriter(metadata: ["format": "pt"])
            for (name, t) in weights.namedTensors { try writer.add(name, t, as: .bf16) }
            let files = try writer.writeSharded(directory: dir, maxShardBytes: 600)
            #expect(files.last?.lastPathComponent == "model.safetensors.index.json")
            let shardCount = files.count - 1
            #expect(shardCount > 2)
            #expect(files.first?.lastPathComponent == String(format: "model-00001-of-%05d.safetensors", shardCount))

            let index = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: files.last!)) as? [String: Any])
            let metadata = try #require(index["metadata"] as? [String: Any])
            #expect(metadata["total_size"] as? Int == writer.totalByteCount)
            #expect(writer.totalByteCount == weights.namedTensors.reduce(0) { $0 + $1.tensor.count * 2 })
            for shard in files.dropLast() {
                let file = try SafeTensorsFile(url: shard)
                let bytes = file.tensors.reduce(0) { $0 + $1.dataOffsets.count }
                // Over the limit only when one tensor alone is.
                #expect(bytes <= 600 || file.tensors.count == 1)
                #expect(file.metadata == ["format": "pt"])
            }
            let sharded = try ShardedSafeTensors(directory: dir)
            #expect(Set(sharded.tensorNames) == Set(weights.namedTensors.map(\.name)))
            let loaded = try LlamaWeights.load(from: sharded, config: weights.config)
            for (a, b) in zip(loaded.namedTensors, weights.namedTensors) {
                #expect(a.tensor.values == b.tensor.values.map { FloatConversion.float(bfloat16Bits: FloatConversion.bfloat16Bits($0)) })
            }
        }
    }

    @Test func oneShardWhenEverythingFits() throws {
        try withTemporaryDirectory { dir in
            var writer = SafeTensorsWriter()
            try writer.add("x", Tensor(shape: [3], values: [1, 2, 3]))
            let files = try writer.writeSharded(directory: dir, maxShardBytes: 1 << 20)
            #expect(files.map(\.lastPathComponent) == ["model.safetensors"])
            #expect(try ShardedSafeTensors(directory: dir).tensor("x").values == [1, 2, 3])
        }
    }

    @Test func refusesAnIndexThatPointsAtTheWrongShard() throws {
        try withTemporaryDirectory { dir in
            var writer = SafeTensorsWriter()
            try writer.add("x", Tensor(shape: [3], values: [1, 2, 3]))
            try writer.write(to: dir.appendingPathComponent("model-00001-of-00001.safetensors"))
            let index = #"{"metadata":{"total_size":12},"weight_map":{"x":"model-00001-of-00001.safetensors","y":"model-00001-of-00001.safetensors"}}"#
            try Data(index.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
            let error = try #require(throws: SafeTensorsError.self) { try ShardedSafeTensors(directory: dir) }
            #expect(error.tensor == "y")
            #expect(error.kind == .invalidIndex)
        }
    }
}
