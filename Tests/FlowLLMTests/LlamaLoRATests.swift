import Foundation
import Testing
@testable import FlowLLM

/// LoRA against peft: forward, gradients of A and B, three AdamW steps, merge, rsLoRA, PEFT files both ways.
@Suite struct LlamaLoRATests {
    static func peftAdapter(_ name: String = "lora-adapter", config: LlamaConfig) throws -> LoRAAdapter {
        try LoRAAdapter.loadPEFT(from: LlamaFixtures.url(name), modelConfig: config)
    }

    /// A peft-written adapter (plain and rsLoRA: scaling alpha/r = 2 and alpha/√r = 4) gives peft's logits and loss.
    @Test(arguments: [("lora-adapter", "lora-reference.safetensors", Float(2)),
                      ("lora-rslora-adapter", "lora-rslora-reference.safetensors", Float(4))])
    func loadsPEFTAdapterAndMatchesItsLogits(adapterName: String, referenceName: String, scaling: Float) throws {
        let weights = try LlamaFixtures.tinyWeights()
        let adapter = try Self.peftAdapter(adapterName, config: weights.config)
        #expect(adapter.config.rank == 4 && adapter.config.alpha == 8 && adapter.config.scaling == scaling)
        #expect(Set(adapter.config.targets) == Set(LlamaProjection.allCases))
        let model = LlamaModel(weights: weights, adapter: adapter)
        let loss = try model.forward(LlamaFixtures.packedBatch())
        let reference = try LlamaFixtures.file(referenceName)
        try LlamaForwardTests.expectLogitsMatch(model, reference: reference)
        try LlamaForwardTests.expectLossMatches(loss, reference: reference)
    }

    @Test func gradientsOfAAndBMatchPEFT() throws {
        let weights = try LlamaFixtures.tinyWeights()
        let model = LlamaModel(weights: weights, adapter: try Self.peftAdapter(config: weights.config))
        #expect(model.gradients == nil, "LoRA training must not allocate base gradients")
        try model.forward(LlamaFixtures.packedBatch(), training: true)
        try model.backward()
        let reference = try LlamaFixtures.file("lora-reference.safetensors")
        let gradients = try #require(model.adapterGradients).namedTensors
        #expect(gradients.count == 2 * 7 * 2)
        for (name, gradient) in gradients {
            let error = relativeError(gradient, try reference.tensor("grad." + name))
            #expect(error <= 1e-4, "gradient of \(name): relative error \(error)")
        }
    }

    /// Three steps of AdamW (weight decay 0.01) under a cosine schedule with one warmup step, as torch does them.
    @Test func threeAdamWStepsMatchTorch() throws {
        let weights = try LlamaFixtures.tinyWeights()
        let model = LlamaModel(weights: weights, adapter: try Self.peftAdapter(config: weights.config))
        let optimizer = AdamW(parameters: model.trainableParameters, weightDecay: 0.01)
        let schedule = LearningRateSchedule(kind: .cosine, peakLearningRate: 1e-3, warmupSteps: 1, totalSteps: 3)
        let batch = try LlamaFixtures.packedBatch()
        let reference = try LlamaFixtures.file("lora-adamw.safetensors")
        let expectedLosses = try reference.tensor("losses").values
        for step in 0..<3 {
            model.zeroGradients()
            let loss = try model.forward(batch, training: true)
            #expect(abs(Float(loss.mean) - expectedLosses[step]) <= 1e-5 * expectedLosses[step], "loss at step \(step)")
            try model.backward()
            optimizer.update(learningRate: schedule.learningRate(step: step))
        }
        for p in model.trainableParameters {
            let error = relativeError(p.value, try reference.tensor(p.name))
            #expect(error <= 1e-4, "\(p.name) after three steps: relative error \(error)")
        }
    }

    /// An optimizer restored from saved moments and step count continues exactly as the original would.
    @Test func adamWResumesFromSavedState() throws {
        let weights = try LlamaFixtures.tinyWeights()
        let batch = try LlamaFixtures.packedBatch()
        func step(_ model: LlamaModel, _ optimizer: AdamW) throws {
            model.zeroGradients()
            try model.forward(batch, training: true)
            try model.backward()
            optimizer.update(learningRate: 1e-3)
        }
        let model = LlamaModel(weights: weights, adapter: try Self.peftAdapter(config: weights.config))
        let optimizer = AdamW(parameters: model.trainableParameters, weightDecay: 0.01)
        try step(model, optimizer)
        // A second run resumes from a copy of the adapter and optimizer state after one step.
        let adapter = try #require(model.adapter)
        let resumedAdapter = LoRAAdapter(config: adapter.config, modelConfig: weights.config, pairs: adapter.pairs.map {
            $0.map { $0.map { LoRAPair(a: $0.a.copy(), b: $0.b.copy()) } }
        })
        let resumed = LlamaModel(weights: weights, adapter: resumedAdapter)
        let resumedOptimizer = AdamW(parameters: resumed.trainableParameters, weightDecay: 0.01)
        try resumedOptimizer.restore(step: optimizer.step, firstMoments: optimizer.firstMoments.map { $0.copy() },
                                     secondMoments: optimizer.secondMoments.map { $0.copy() })
        try step(model, optimizer)
        try step(resumed, resumedOptimizer)
        #expect(resumedOptimizer.step == 2)
        for (a, b) in zip(model.trainableParameters, resumed.trainableParameters) {
            #expect(a.value.values == b.value.values, "\(a.name)")
        }
        #expect(throws: LlamaModelError.self) {
            try resumedOptimizer.restore(step: 1, firstMoments: [], secondMoments: [])
        }
    }

    /// Hand-checked values of transformers' get_cosine_schedule_with_warmup.
    @Test func cosineScheduleWarmsUpThenDecays() {
        let s = LearningRateSchedule(kind: .cosine, peakLearningRate: 2e-4, warmupSteps: 2, totalSteps: 10)
        #expect(s.learningRate(step: 0) == 0)
        #expect(s.learningRate(step: 1) == 1e-4)
        #expect(s.learningRate(step: 2) == 2e-4)
        #expect(abs(s.learningRate(step: 6) - 1e-4) < 1e-12)  // halfway through the decay: cos(π/2) = 0
        #expect(abs(s.learningRate(step: 10)) < 1e-12)
        #expect(s.learningRate(step: 12) >= 0)
    }

    /// W + scaling·B·A for every target as peft's merge_and_unload, and the merged model computes what base + adapter do.
    @Test func mergeMatchesPEFT() throws {
        let weights = try LlamaFixtures.tinyWeights()
        let adapter = try Self.peftAdapter(config: weights.config)
        let merged = weights.merging(adapter)
        let reference = try LlamaFixtures.file("merged.safetensors")
        var compared = 0
        for (name, tensor) in merged.namedTensors where name.contains("_proj") {
            let error = relativeError(tensor, try reference.tensor(name))
            #expect(error <= 1e-6, "\(name): relative error \(error)")
            compared += 1
        }
        #expect(compared == 2 * 7)
        #expect(merged.embedTokens === weights.embedTokens)
        let batch = try LlamaFixtures.packedBatch()
        let mergedModel = LlamaModel(weights: merged)
        try mergedModel.forward(batch)
        try LlamaForwardTests.expectLogitsMatch(mergedModel, reference: LlamaFixtures.file("lora-reference.safetensors"))
    }

    /// clip_grad_norm_ semantics: the global L2 norm is returned and every gradient scaled by max / (norm + 1e-6).
    @Test func clipsGradientsLikeTorch() throws {
        let weights = try LlamaFixtures.tinyWeights()
        let model = LlamaModel(weights: weights, adapter: try Self.peftAdapter(config: weights.config))
        try model.forward(LlamaFixtures.packedBatch(), training: true)
        try model.backward()
        let reference = try LlamaFixtures.file("lora-reference.safetensors")
        let norm = GradientClipping.clipByGlobalNorm(model.trainableParameters, maxNorm: 0.05)
        let expected = try reference.tensor("grad_norm").values[0]
        #expect(abs(Float(norm) - expected) <= 1e-5 * expected)
        for p in model.trainableParameters {
            let error = relativeError(p.gradient, try reference.tensor("clipped." + p.name))
            #expect(error <= 1e-4, "clipped gradient of \(p.name): relative error \(error)")
        }
        // Under the limit nothing changes.
        let before = model.trainableParameters.map { $0.gradient.values }
        GradientClipping.clipByGlobalNorm(model.trainableParameters, maxNorm: 10)
        #expect(model.trainableParameters.map { $0.gradient.values } == before)
    }

    /// PEFT's init: A ~ U(−1/√in, 1/√in), B = 0; the same seed gives the same adapter.
    @Test func initialisesLikePEFTDeterministically() throws {
        let config = LlamaConfig(vocabSize: 32, hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 1, numAttentionHeads: 4)
        let lora = LoRAConfig(rank: 8, alpha: 16, targets: [.q, .down])
        let adapter = LoRAAdapter.initialized(lora, base: .zeros(config), seed: 42)
        #expect(adapter.pair(layer: 0, .k) == nil)
        for (p, inFeatures) in [(LlamaProjection.q, 64), (.down, 128)] {
            let pair = try #require(adapter.pair(layer: 0, p))
            let bound = 1 / Float(inFeatures).squareRoot()
            #expect(pair.a.shape == [8, inFeatures] && pair.b.shape == [p.shape(config).out, 8])
            #expect(pair.a.values.allSatisfy { abs($0) <= bound })
            #expect(pair.b.values.allSatisfy { $0 == 0 })
            let variance = pair.a.values.reduce(0) { $0 + $1 * $1 } / Float(pair.a.count)
            #expect(abs(variance - bound * bound / 3) < 0.15 * bound * bound / 3, "U(−b, b) has variance b²/3")
        }
        let again = LoRAAdapter.initialized(lora, base: .zeros(config), seed: 42)
        let other = LoRAAdapter.initialized(lora, base: .zeros(config), seed: 43)
        #expect(again.namedTensors.map(\.tensor.values) == adapter.namedTensors.map(\.tensor.values))
        #expect(other.namedTensors.map(\.tensor.values) != adapter.namedTensors.map(\.tensor.values))
    }

    /// An adapter written by flow has PEFT's layout and reads back identically; it is also left in
    /// $TMPDIR/flow-numerics-peft-check with flow's logits (and flow-written checkpoints) for
    /// `numerics.py --check-adapter` to load in peft and transformers.
    @Test func writesPEFTLayout() throws {
        let weights = try LlamaFixtures.tinyWeights()
        let adapter = LoRAAdapter.initialized(LoRAConfig(rank: 2, alpha: 4, targets: [.q, .v, .down]),
                                              base: weights, seed: 7)
        var random = TensorRandom(seed: 9)
        for (_, t) in adapter.namedTensors where t.shape[1] == 2 { random.fillNormal(t, std: 0.1) }  // non-zero B
        try withTemporaryDirectory { dir in
            try adapter.savePEFT(to: dir, baseModelNameOrPath: "tiny-llama")
            let file = try SafeTensorsFile(url: dir.appendingPathComponent("adapter_model.safetensors"))
            #expect(file.metadata == ["format": "pt"])
            #expect(file.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"))
            #expect(file.contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"))
            #expect(file.tensorNames.count == 2 * 3 * 2)
            let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("adapter_config.json"))) as? [String: Any])
            #expect(json["peft_type"] as? String == "LORA" && json["task_type"] as? String == "CAUSAL_LM")
            #expect(json["r"] as? Int == 2 && json["lora_alpha"] as? Double == 4 && json["bias"] as? String == "none")
            #expect(json["target_modules"] as? [String] == ["q_proj", "v_proj", "down_proj"])
            let back = try LoRAAdapter.loadPEFT(from: dir, modelConfig: weights.config)
            #expect(back.config == adapter.config)
            #expect(back.namedTensors.map(\.name) == adapter.namedTensors.map(\.name))
            #expect(back.namedTensors.map(\.tensor.values) == adapter.namedTensors.map(\.tensor.values))
        }
        // For the Python side: the adapter plus flow's logits for sample A.
        let check = FileManager.default.temporaryDirectory.appendingPathComponent("flow-numerics-peft-check")
        try adapter.savePEFT(to: check, baseModelNameOrPath: "tiny-llama")
        let model = LlamaModel(weights: weights, adapter: adapter)
        let a = try LlamaFixtures.sampleRanges()[0]
        let packed = try LlamaFixtures.packedBatch()
        try model.forward(LlamaBatch(rows: 1, length: a.count, tokens: Array(packed.tokens[a])))
        var writer = SafeTensorsWriter()
        try writer.add("logits", try #require(model.logits).copy())
        // Checkpoints written by flow, for transformers to load: the base model, and the tied one with llama3 RoPE.
        try weights.save(to: check.appendingPathComponent("base"))
        let tied = try LlamaModel.loadWeights(from: LlamaFixtures.url("tiny-llama-tied"))
        try tied.save(to: check.appendingPathComponent("tied"), maxShardBytes: 30_000)
        let tiedModel = LlamaModel(weights: tied)
        try tiedModel.forward(LlamaBatch(rows: 1, length: a.count, tokens: Array(packed.tokens[a])))
        try writer.add("tied_logits", try #require(tiedModel.logits))
        try writer.write(to: check.appendingPathComponent("flow_logits.safetensors"))
    }

    /// Trained copies of embed_tokens and lm_head (modules_to_save) are written under PEFT's names with
    /// `modules_to_save` in adapter_config.json and read back identically. Each adapter is also left in
    /// $TMPDIR/flow-numerics-peft-check/<case> with flow's logits for `numerics.py --check-adapter`, which loads it
    /// in peft: on the untied base, on the tied base with both copies, and on the tied base with the embedding copy
    /// only (the tied lm_head keeps the base table there).
    @Test func writesModulesToSaveInPEFTLayout() throws {
        let check = FileManager.default.temporaryDirectory.appendingPathComponent("flow-numerics-peft-check")
        let untied = try LlamaFixtures.tinyWeights(), tied = try LlamaModel.loadWeights(from: LlamaFixtures.url("tiny-llama-tied"))
        let cases: [(String, LlamaWeights, [LoRASavedModule])] = [
            ("modules-to-save", untied, [.embedTokens, .lmHead]), ("modules-to-save-tied", tied, [.embedTokens, .lmHead]),
            ("modules-to-save-tied-embed", tied, [.embedTokens]),
        ]
        let a = try LlamaFixtures.sampleRanges()[0]
        let tokens = Array(try LlamaFixtures.packedBatch().tokens[a])
        var logits = SafeTensorsWriter()
        for (label, weights, modules) in cases {
            let config = LoRAConfig(rank: 2, alpha: 4, targets: [.q, .down], modulesToSave: modules)
            let adapter = LoRAAdapter.initialized(config, base: weights, seed: 7)
            var random = TensorRandom(seed: 9)
            for (_, t) in adapter.namedTensors { random.fillNormal(t, std: 0.1) }  // non-zero B; copies unlike the base
            let dir = check.appendingPathComponent(label)
            try? FileManager.default.removeItem(at: dir)
            try adapter.savePEFT(to: dir, baseModelNameOrPath: "tiny-llama")
            let file = try SafeTensorsFile(url: dir.appendingPathComponent("adapter_model.safetensors"))
            #expect(file.tensorNames.count == 2 * 2 * 2 + modules.count)
            #expect(modules.allSatisfy { file.contains($0.peftName) })
            #expect(file.contains("base_model.model.model.embed_tokens.weight"))
            let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("adapter_config.json"))) as? [String: Any])
            #expect(json["modules_to_save"] as? [String] == modules.map(\.rawValue))
            let back = try LoRAAdapter.loadPEFT(from: dir, modelConfig: weights.config)
            #expect(back.config == adapter.config)
            #expect(back.namedTensors.map(\.name) == adapter.namedTensors.map(\.name))
            #expect(back.namedTensors.map(\.tensor.values) == adapter.namedTensors.map(\.tensor.values))
            let model = LlamaModel(weights: weights, adapter: back)
            try model.forward(LlamaBatch(rows: 1, length: tokens.count, tokens: tokens))
            try logits.add(label, try #require(model.logits).copy())
        }
        try logits.write(to: check.appendingPathComponent("modules_to_save_logits.safetensors"))
    }

    @Test func dropoutOnlyActsWhileTraining() throws {
        let weights = try LlamaFixtures.tinyWeights()
        let plain = try Self.peftAdapter(config: weights.config)
        var config = plain.config
        config.dropout = 0.5
        let dropped = LoRAAdapter(config: config, modelConfig: weights.config, pairs: plain.pairs)
        let batch = try LlamaFixtures.packedBatch()
        let reference = try LlamaModel(weights: weights, adapter: plain).forward(batch)
        let model = LlamaModel(weights: weights, adapter: dropped, seed: 1)
        #expect(try model.forward(batch).sum == reference.sum)
        let first = try model.forward(batch, training: true)
        try model.backward()
        let second = try model.forward(batch, training: true)
        #expect(first.sum != second.sum && first.sum != reference.sum)
        #expect(try #require(model.adapterGradients).namedTensors.allSatisfy { $0.tensor.values.allSatisfy(\.isFinite) })
    }
}
