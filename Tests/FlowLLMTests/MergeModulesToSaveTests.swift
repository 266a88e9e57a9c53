import Foundation
import Testing
@testable import FlowLLM

/// Merging adapters with modules_to_save (`scripts/fixtures/merge.py --modules-to-save`): the trained copies of
/// embed_tokens and lm_head replace the base tensors, as in peft's `merge_and_unload`, still streamed shard by shard.
@Suite struct MergeModulesToSaveTests {
    /// F32 base: every tensor within 1e-6 of peft's merge; the copies exactly.
    @Test func f32BaseMatchesPEFT() throws {
        let expected = try SafeTensorsFile(url: MergeFixtures.url("expected-adapter-mts-f32.safetensors"))
        try MergeFixtures.merged(base: "base-f32", adapter: "adapter-mts") { output, summary in
            #expect(summary.tensorsMerged == 4 && summary.tensorsReplaced == 2)
            try MergeFixtures.expectClose(output, to: expected) { $0.contains("proj") ? 1e-6 : 0 }
        }
    }

    /// BF16 bases, untied and tied: bit for bit peft's merge rounded to BF16. On the tied base the merged model is
    /// untied — lm_head.weight added beside the embedding (the trained lm_head copy, or the base table when only the
    /// embedding was saved), `tie_word_embeddings: false`, the index mapping it with the bytes counted — and loads.
    @Test(arguments: [("adapter-mts", "base-bf16", 2), ("adapter-mts-tied", "base-tied-bf16", 2),
                      ("adapter-mts-tied-embed", "base-tied-bf16", 1)])
    func bf16BasesMatchPEFTBitForBit(adapter: String, base: String, replaced: Int) throws {
        let expected = try SafeTensorsFile(url: MergeFixtures.url("expected-\(adapter)-bf16.safetensors"))
        let tied = base.contains("tied")
        let baseTensors = try MergeFixtures.rawTensors(MergeFixtures.url(base))
        #expect(baseTensors["lm_head.weight"] == nil || !tied)
        try MergeFixtures.merged(base: base, adapter: adapter) { output, summary in
            #expect(summary.tensorsMerged == 4 && summary.tensorsReplaced == replaced)
            #expect(summary.tensorsMerged + summary.tensorsReplaced + summary.tensorsCopied == baseTensors.count + (tied ? 1 : 0))
            let merged = try MergeFixtures.rawTensors(output)
            #expect(Set(merged.keys) == Set(expected.tensorNames))
            for name in expected.tensorNames {
                #expect(merged[name] == Array(try expected.rawBytes(name)), "\(name) differs from peft's merge rounded to BF16")
            }
            for name in ["model.embed_tokens.weight", "lm_head.weight"] where baseTensors[name] != nil {
                #expect(merged[name] != baseTensors[name] || (adapter.hasSuffix("embed") && name == "lm_head.weight"))
            }
            let config = try LlamaConfig.load(from: output.appendingPathComponent("config.json"))
            #expect(config.tieWordEmbeddings == false)
            #expect(summary.filesCopied.contains("config.json"))
            let index = try #require(JSONSerialization.jsonObject(
                with: Data(contentsOf: output.appendingPathComponent("model.safetensors.index.json"))) as? [String: Any])
            let weightMap = try #require(index["weight_map"] as? [String: String])
            #expect(Set(weightMap.keys) == Set(merged.keys))
            #expect(weightMap["lm_head.weight"] == weightMap["model.embed_tokens.weight"] || !tied)
            let totalSize = (index["metadata"] as? [String: Any])?["total_size"] as? Int
            #expect(totalSize == merged.values.reduce(0) { $0 + $1.count })
            let weights = try LlamaModel.loadWeights(from: output)
            #expect(weights.lmHead != nil)
        }
    }

    /// Unmerged, the adapter's copies are what the model reads: generating with base + adapter gives the logits of
    /// the merged checkpoint (F32, so only the merge's rounding differs).
    @Test func unmergedGenerationUsesTheCopies() throws {
        let tokens: [Int32] = [1, 5, 9, 63, 2, 17]
        func logits(_ model: GenerationModel) throws -> [Float] {
            let session = GenerationSession(model: model, capacity: tokens.count)
            try session.append(tokens)
            return session.logits.values
        }
        let unmerged = try GenerationModel(model: MergeFixtures.url("base-f32"), adapter: MergeFixtures.url("adapter-mts"),
                                           threads: ComputeThreads(count: 1))
        #expect(unmerged.adapter?.config.modulesToSave == [.embedTokens, .lmHead])
        let plain = try logits(GenerationModel(model: MergeFixtures.url("base-f32"), threads: ComputeThreads(count: 1)))
        try MergeFixtures.merged(base: "base-f32", adapter: "adapter-mts") { output, _ in
            let merged = try logits(GenerationModel(model: output, threads: ComputeThreads(count: 1)))
            let adapted = try logits(unmerged)
            #expect(relativeError(adapted, merged) < 1e-5)
            #expect(relativeError(plain, merged) > 1e-2)
        }
    }

    /// The in-memory merge (`LlamaWeights.merging`) puts the copies in too and unties a tied model: its logits are
    /// those of base + adapter, both copies saved or only the embedding's.
    @Test(arguments: ["adapter-mts-tied", "adapter-mts-tied-embed"])
    func inMemoryMergeUntiesLikeTheStreamingOne(adapter name: String) throws {
        let weights = try LlamaModel.loadWeights(from: MergeFixtures.url("base-tied-bf16"))
        #expect(weights.config.tieWordEmbeddings)
        let adapter = try LoRAAdapter.loadPEFT(from: MergeFixtures.url(name), modelConfig: weights.config)
        let merged = weights.merging(adapter)
        #expect(!merged.config.tieWordEmbeddings && merged.lmHead != nil)
        let batch = try LlamaBatch(rows: 1, length: 5, tokens: [3, 60, 8, 1, 44])
        let unmerged = LlamaModel(weights: weights, adapter: adapter, threads: ComputeThreads(count: 1))
        try unmerged.forward(batch)
        let model = LlamaModel(weights: merged, threads: ComputeThreads(count: 1))
        try model.forward(batch)
        #expect(relativeError(try #require(unmerged.logits), try #require(model.logits)) < 1e-5)
    }
}
