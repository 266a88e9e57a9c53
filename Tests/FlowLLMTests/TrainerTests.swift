import Foundation
import Testing
@testable import FlowLLM

@Suite struct TrainerLoopTests {
    /// k micro-batches of one row give the gradients and loss of one batch of those k rows (full fine-tuning,
    /// so every weight has a gradient; rows of different lengths, so the micro-batches pad differently).
    @Test func gradientAccumulationEqualsOneLargeBatch() throws {
        try withTemporaryDirectory { dir in
            let data = try TrainerTests.dataset(in: dir)
            var small = TrainingOptions()
            small.microBatchSize = 1
            small.gradientAccumulationSteps = 4
            small.threads = ComputeThreads(count: 1)
            var large = small
            large.microBatchSize = 4
            large.gradientAccumulationSteps = 1
            let a = try Trainer(weights: TrainerTests.weights(), dataset: data, options: small)
            let b = try Trainer(weights: TrainerTests.weights(), dataset: data, options: large)
            let rows = Array(a.shuffledRows(epoch: 0).prefix(4))
            let micro = try data.batches(of: "train", batchSize: 1, order: rows).map { try LlamaBatch(prepared: $0) }
            let whole = try data.batches(of: "train", batchSize: 4, order: rows).map { try LlamaBatch(prepared: $0) }
            #expect(micro.count == 4 && whole.count == 1)
            let lossA = try a.accumulateGradients(0, micro), lossB = try b.accumulateGradients(0, whole)
            #expect(lossA.count == lossB.count && lossA.count > 0)
            #expect(abs(lossA.mean - lossB.mean) < 1e-5)
            for (pa, pb) in zip(a.model.trainableParameters, b.model.trainableParameters) {
                #expect(pa.name == pb.name)
                #expect(relativeError(pa.gradient, pb.gradient) < 1e-5, "\(pa.name)")
            }
        }
    }

    /// Packed rows (several examples a row, attention and the label shift kept within each by segment ids) give
    /// the loss and gradients of the same examples one a row.
    @Test func packedRowsTrainLikeSeparateRows() throws {
        try withTemporaryDirectory { dir in
            let packedDir = dir.appendingPathComponent("packed"), plainDir = dir.appendingPathComponent("plain")
            try FileManager.default.createDirectory(at: packedDir, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: plainDir, withIntermediateDirectories: true)
            let packed = try TrainerTests.dataset(in: packedDir, evalRows: 0, packing: true)
            let plain = try TrainerTests.dataset(in: plainDir, evalRows: 0)
            #expect(packed.train.rowCount < plain.train.rowCount)
            var o = TrainingOptions()
            o.threads = ComputeThreads(count: 1)
            let a = try Trainer(weights: TrainerTests.weights(), dataset: packed, options: o)
            let b = try Trainer(weights: TrainerTests.weights(), dataset: plain, options: o)
            let batchA = try packed.batches(of: "train", batchSize: packed.train.rowCount).map { try LlamaBatch(prepared: $0) }
            let batchB = try plain.batches(of: "train", batchSize: plain.train.rowCount).map { try LlamaBatch(prepared: $0) }
            let lossA = try a.accumulateGradients(0, batchA), lossB = try b.accumulateGradients(0, batchB)
            #expect(lossA.count == lossB.count)
            #expect(abs(lossA.mean - lossB.mean) < 1e-5)
            for (pa, pb) in zip(a.model.trainableParameters, b.model.trainableParameters) {
                #expect(relativeError(pa.gradient, pb.gradient) < 1e-5, "\(pa.name)")
            }
        }
    }

    /// A tiny model memorises eight rows: the training loss falls well below where it started.
    @Test func lossFallsOnMemorizationTask() throws {
        try withTemporaryDirectory { dir in
            let data = try TrainerTests.dataset(in: dir, evalRows: 0)
            var o = TrainerTests.loraOptions(steps: 40)
            o.lora = nil  // full fine-tuning learns a random mapping fastest
            o.loggingSteps = 1
            let summary = try Trainer(weights: TrainerTests.weights(), dataset: data, options: o).train()
            let losses = summary.state.logHistory.compactMap(\.loss)
            #expect(losses.count == 40)
            let first = try #require(losses.first), last = try #require(losses.last)
            #expect(last < 0.5 * first, "loss \(first) → \(last)")
            #expect(summary.finalEvalLoss == nil)
        }
    }

    /// Metrics every logging_steps (loss, lr, grad norm, tokens/s, ETA) and eval loss every eval_steps.
    @Test func logsEveryLoggingStepAndEvaluatesEveryEvalStep() throws {
        try withTemporaryDirectory { dir in
            let data = try TrainerTests.dataset(in: dir)
            var o = TrainerTests.loraOptions(steps: 7)
            o.loggingSteps = 2
            o.evalSteps = 3
            let trainer = try Trainer(weights: TrainerTests.weights(), dataset: data, options: o)
            var events: [(TrainingLogEntry, [String: Double])] = []
            trainer.onProgress = { events.append(($0, $1)) }
            let summary = try trainer.train()
            let train = events.filter { $0.0.loss != nil }, eval = events.filter { $0.0.evalLoss != nil }
            #expect(train.map(\.0.step) == [2, 4, 6, 7])  // and the last step
            #expect(eval.map(\.0.step) == [3, 6, 7])
            for (entry, metrics) in train {
                #expect(Set(metrics.keys).isSuperset(of: ["loss", "learning_rate", "grad_norm", "tokens_per_second", "eta_seconds"]))
                #expect(metrics["learning_rate"] == trainer.schedule.learningRate(step: entry.step - 1))
                #expect((metrics["tokens_per_second"] ?? 0) > 0)
            }
            #expect(train.last?.1["eta_seconds"] == 0)
            #expect(summary.state.logHistory.count == train.count + eval.count)
            // The eval loss is the token-weighted mean over the eval split, as `evaluate()` recomputes it.
            #expect(summary.finalEvalLoss == (try trainer.evaluate()))
        }
    }

    /// Two runs with the same seed and options end with the same bytes; another seed does not.
    @Test func sameSeedSameAdapter() throws {
        try withTemporaryDirectory { dir in
            let data = try TrainerTests.dataset(in: dir)
            func run(seed: Int) throws -> [Float] {
                var o = TrainerTests.loraOptions(epochs: 2, dropout: 0.1)
                o.seed = seed
                let trainer = try Trainer(weights: TrainerTests.weights(), dataset: data, options: o)
                _ = try trainer.train()
                return TrainerTests.trainedValues(trainer)
            }
            let first = try run(seed: 3), second = try run(seed: 3), other = try run(seed: 4)
            #expect(TrainerTests.sameBits(first, second))
            #expect(!TrainerTests.sameBits(first, other))
        }
    }

    /// Each epoch visits every row once, in numpy's `default_rng(seed + epoch).permutation(rows)` order.
    @Test func epochsShuffleDeterministically() throws {
        try withTemporaryDirectory { dir in
            let trainer = try Trainer(weights: TrainerTests.weights(), dataset: try TrainerTests.dataset(in: dir),
                                      options: TrainerTests.loraOptions())
            let e0 = trainer.shuffledRows(epoch: 0), e1 = trainer.shuffledRows(epoch: 1)
            #expect(e0.sorted() == Array(0..<8) && e1.sorted() == Array(0..<8))
            #expect(e0 != e1)
            // /work/venv-torch/bin/python -c "import numpy as np; print(list(np.random.default_rng(3).permutation(8)),
            //     list(np.random.default_rng(4).permutation(8)))"   (numpy 2.4.6; seed 3, epochs 0 and 1)
            #expect(e0 == [6, 7, 2, 1, 4, 5, 3, 0])
            #expect(e1 == [1, 2, 0, 7, 4, 5, 3, 6])
        }
    }
}
