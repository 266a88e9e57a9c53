import Foundation
import Testing
@testable import FlowLLM

@Suite struct TrainerCheckpointTests {
    /// Stopping at a mid-epoch checkpoint and resuming ends bit-identical to the run that never stopped: same
    /// weights, optimizer moments and log history (dropout on, accumulation, several epochs).
    @Test func resumeEndsBitIdentical() throws {
        try withTemporaryDirectory { dir in
            let data = try TrainerTests.dataset(in: dir)
            var o = TrainerTests.loraOptions(epochs: 3, dropout: 0.1)  // 2 steps an epoch, 6 in all
            o.saveSteps = 3
            o.loggingSteps = 2  // the checkpoint falls between two logs: the logged mean must still span steps 3 and 4
            o.evalSteps = 2
            let full = try Trainer(weights: TrainerTests.weights(), dataset: data, options: o)
            let checkpoints = dir.appendingPathComponent("checkpoints")
            let whole = try full.train(checkpointDirectory: checkpoints)
            #expect(TrainingCheckpoint.latest(in: checkpoints)?.lastPathComponent == "checkpoint-6")
            let middle = checkpoints.appendingPathComponent("checkpoint-3")
            let manifest = try JSONDecoder().decode(TrainingCheckpoint.self,
                                                    from: Data(contentsOf: middle.appendingPathComponent("checkpoint.json")))
            #expect(manifest.step == 3 && manifest.epoch == 1 && manifest.stepInEpoch == 1)

            let resumed = try Trainer(weights: TrainerTests.weights(), dataset: data, options: o)
            let rest = try resumed.train(resumeFrom: middle)
            #expect(rest.resumedFromStep == 3 && rest.steps == 6)
            #expect(TrainerTests.sameBits(TrainerTests.trainedValues(resumed), TrainerTests.trainedValues(full)))
            for (a, b) in zip(resumed.optimizers, full.optimizers) {
                #expect(a.step == b.step)
                #expect(TrainerTests.sameBits(a.secondMoments.flatMap(\.values), b.secondMoments.flatMap(\.values)))
            }
            #expect(rest.state == whole.state)
        }
    }

    /// Full fine-tuning checkpoints hold the HF weights and resume exactly too (norms in the no-decay group).
    @Test func fullFineTuningResumes() throws {
        try withTemporaryDirectory { dir in
            let data = try TrainerTests.dataset(in: dir, evalRows: 0)
            var o = TrainerTests.loraOptions(steps: 4)
            o.lora = nil
            o.saveSteps = 2
            let full = try Trainer(weights: TrainerTests.weights(), dataset: data, options: o)
            #expect(full.optimizers.map(\.weightDecay) == [0.01, 0])
            #expect(full.optimizers[1].parameters.allSatisfy { $0.name.hasSuffix("norm.weight") })
            _ = try full.train(checkpointDirectory: dir.appendingPathComponent("c"))
            let checkpoint = dir.appendingPathComponent("c/checkpoint-2")
            #expect(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("model.safetensors").path))
            let resumed = try Trainer(weights: TrainerTests.weights(), dataset: data, options: o)
            _ = try resumed.train(resumeFrom: checkpoint)
            #expect(TrainerTests.sameBits(TrainerTests.trainedValues(resumed), TrainerTests.trainedValues(full)))
        }
    }

    /// With modules_to_save the trained copies and their AdamW moments go into the checkpoint under PEFT's names
    /// and resume bit-identically; the base weights stay as they were while the copies move. A run without
    /// modules_to_save does not resume from it.
    @Test func modulesToSaveResumeBitIdentical() throws {
        try withTemporaryDirectory { dir in
            let data = try TrainerTests.dataset(in: dir, evalRows: 0)
            var o = TrainerTests.loraOptions(steps: 4)
            o.lora?.modulesToSave = [.embedTokens, .lmHead]
            o.saveSteps = 2
            let base = TrainerTests.weights()
            let full = try Trainer(weights: base, dataset: data, options: o)
            _ = try full.train(checkpointDirectory: dir.appendingPathComponent("c"))
            let untouched = TrainerTests.weights()
            #expect(base.embedTokens.values == untouched.embedTokens.values)
            let adapter = try #require(full.model.adapter)
            for module in LoRASavedModule.allCases {
                let copy = try #require(adapter.savedModule(module))
                let original = module == .embedTokens ? untouched.embedTokens : untouched.outputProjection
                #expect(relativeError(copy, original) > 1e-3, "\(module) trained")
            }

            let checkpoint = dir.appendingPathComponent("c/checkpoint-2")
            let saved = try SafeTensorsFile(url: checkpoint.appendingPathComponent("adapter_model.safetensors"))
            let moments = try SafeTensorsFile(url: checkpoint.appendingPathComponent("optimizer.safetensors"))
            for name in ["base_model.model.model.embed_tokens.weight", "base_model.model.lm_head.weight"] {
                #expect(saved.contains(name))
                #expect(moments.contains("exp_avg." + name) && moments.contains("exp_avg_sq." + name))
            }
            let resumed = try Trainer(weights: TrainerTests.weights(), dataset: data, options: o)
            _ = try resumed.train(resumeFrom: checkpoint)
            #expect(TrainerTests.sameBits(TrainerTests.trainedValues(resumed), TrainerTests.trainedValues(full)))
            for (a, b) in zip(resumed.optimizers, full.optimizers) {
                #expect(TrainerTests.sameBits(a.firstMoments.flatMap(\.values), b.firstMoments.flatMap(\.values)))
                #expect(TrainerTests.sameBits(a.secondMoments.flatMap(\.values), b.secondMoments.flatMap(\.values)))
            }

            var plain = o
            plain.lora?.modulesToSave = []
            let other = try Trainer(weights: TrainerTests.weights(), dataset: data, options: plain)
            let error = try #require(throws: TrainingError.self) { try other.train(resumeFrom: checkpoint) }
            #expect(error.message.contains("modules_to_save"), "\(error.message)")
        }
    }

    /// A corrupt checkpoint, one cut short, and one from another configuration are refused with a clear message.
    @Test func refusesCorruptOrForeignCheckpoints() throws {
        try withTemporaryDirectory { dir in
            let data = try TrainerTests.dataset(in: dir)
            var o = TrainerTests.loraOptions(steps: 2)
            o.saveSteps = 1
            let checkpoints = dir.appendingPathComponent("checkpoints")
            _ = try Trainer(weights: TrainerTests.weights(), dataset: data, options: o).train(checkpointDirectory: checkpoints)
            let first = checkpoints.appendingPathComponent("checkpoint-1"), second = checkpoints.appendingPathComponent("checkpoint-2")

            func message(resuming checkpoint: URL, with options: TrainingOptions) throws -> String {
                let trainer = try Trainer(weights: TrainerTests.weights(), dataset: data, options: options)
                let error = try #require(throws: TrainingError.self) { try trainer.train(resumeFrom: checkpoint) }
                return error.message
            }
            var other = o
            other.learningRate = 5e-3
            let foreign = try message(resuming: first, with: other)
            #expect(foreign.contains("another configuration") && foreign.contains("learning_rate"), "\(foreign)")

            let weights = first.appendingPathComponent("adapter_model.safetensors")
            var bytes = try Data(contentsOf: weights)
            bytes[bytes.count - 1] ^= 0x40
            try bytes.write(to: weights)
            let corrupt = try message(resuming: first, with: o)
            #expect(corrupt.contains("adapter_model.safetensors") && corrupt.contains("corrupt"), "\(corrupt)")

            try FileManager.default.removeItem(at: second.appendingPathComponent("checkpoint.json"))
            let cut = try message(resuming: second, with: o)
            #expect(cut.contains("not a flow checkpoint"), "\(cut)")
            #expect(TrainingCheckpoint.latest(in: checkpoints) == nil || TrainingCheckpoint.latest(in: checkpoints)?.lastPathComponent == "checkpoint-1")
        }
    }
}
