import FlowKit
import Foundation

/// The training loop: AdamW over a LoRA adapter or every base weight, with a warmup schedule, gradient
/// accumulation, clipping, evaluation, metrics and resumable checkpoints.
///
/// Data order: each epoch `e` visits the training rows in `numpy.random.default_rng(seed + e).permutation(rows)`
/// order (`DatasetShuffle`), cut into micro-batches of `micro_batch_size` rows. Loss: an optimizer step's loss is
/// the sum of its micro-batches' token losses over the trained tokens of the whole step (transformers'
/// `num_items_in_batch` handling), so k micro-batches give the gradient of one batch of k× the rows. LoRA
/// dropout draws from a generator seeded by (seed, step, micro-batch). Same seed, options, data and thread
/// count: bit-identical weights, resumed or not.
public final class Trainer {
    /// The model trained in place.
    public let model: LlamaModel
    /// The prepared data: `train` is trained on, `eval` evaluated.
    public let dataset: PreparedDataset
    /// The options of the run and the step counts they resolve to.
    public let options: TrainingOptions
    public let plan: TrainingPlan
    /// The learning rate per step.
    public let schedule: LearningRateSchedule
    /// Recorded as `base_model_name_or_path` in saved adapters.
    public var baseModelName: String
    /// Called at each logging step and evaluation with the log entry and the metrics sent as progress.
    public var onProgress: ((TrainingLogEntry, [String: Double]) -> Void)?

    /// AdamW groups as transformers builds them: weight decay on matrices, none on norm weights.
    let optimizers: [AdamW]

    /// A trainer for `weights`: with `options.lora` (or a given `adapter`, e.g. from `lora_model_dir`) only the
    /// adapter trains, else every base weight does — in place, so pass a copy to keep the original.
    public convenience init(weights: LlamaWeights, adapter: LoRAAdapter? = nil, dataset: PreparedDataset,
                            options: TrainingOptions, baseModelName: String = "") throws {
        let adapter = adapter ?? options.lora.map {
            LoRAAdapter.initialized($0, base: weights, seed: UInt64(truncatingIfNeeded: options.seed))
        }
        let model = LlamaModel(weights: weights, adapter: adapter, trainsBaseWeights: adapter == nil,
                               seed: UInt64(truncatingIfNeeded: options.seed), threads: options.threads)
        try self.init(model: model, dataset: dataset, options: options, baseModelName: baseModelName)
    }

    /// A trainer for an existing model (its adapter, or its base weights when it has gradients for them).
    public init(model: LlamaModel, dataset: PreparedDataset, options: TrainingOptions, baseModelName: String = "") throws {
        try options.validate()
        self.model = model
        self.dataset = dataset
        self.options = options
        self.baseModelName = baseModelName
        plan = try TrainingPlan(options: options, rows: dataset.train.rowCount)
        schedule = try LearningRateSchedule(lrScheduler: options.lrScheduler, peakLearningRate: options.learningRate,
                                            warmupSteps: plan.warmupSteps, totalSteps: plan.totalSteps)
        let parameters = model.trainableParameters
        guard !parameters.isEmpty else { throw TrainingError("the model has nothing to train: give it an adapter or train its base weights") }
        let isNorm = { (p: LlamaTrainableParameter) in p.name.contains("layernorm") || p.name.hasSuffix("norm.weight") }
        optimizers = [parameters.filter { !isNorm($0) }, parameters.filter(isNorm)].enumerated().compactMap { group, params in
            params.isEmpty ? nil : AdamW(parameters: params, beta1: options.adamBeta1, beta2: options.adamBeta2,
                                          epsilon: options.adamEpsilon, weightDecay: group == 0 ? options.weightDecay : 0)
        }
    }

    /// What fixes the trajectory; a checkpoint resumes only under an equal fingerprint.
    public var fingerprint: [String: String] {
        let o = options
        var digest = TokenizerDigest()
        digest.update(Array(dataset.manifest.cacheKey.utf8))
        let modelConfig = (try? JSONEncoder.sortedKeys.encode(model.config)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return [
            "model_config": modelConfig,
            "adapter": model.adapter.map { c in
                "r=\(c.config.rank) alpha=\(c.config.alpha) dropout=\(c.config.dropout) rslora=\(c.config.useRSLoRA) targets=\(c.config.targets.map(\.rawValue).joined(separator: ","))"
                    + (c.config.modulesToSave.isEmpty ? "" : " modules_to_save=\(c.config.modulesToSave.map(\.rawValue).joined(separator: ","))")
            } ?? "full fine-tuning",
            "data": "\(digest.hexDigest()) rows=\(dataset.train.rowCount)",
            "micro_batch_size": "\(o.microBatchSize)", "gradient_accumulation_steps": "\(o.gradientAccumulationSteps)",
            "total_steps": "\(plan.totalSteps)", "learning_rate": "\(o.learningRate)",
            "lr_scheduler": "\(o.lrScheduler) warmup=\(plan.warmupSteps)", "weight_decay": "\(o.weightDecay)",
            "max_grad_norm": "\(o.maxGradNorm)", "adam": "\(o.adamBeta1) \(o.adamBeta2) \(o.adamEpsilon)", "seed": "\(o.seed)",
        ]
    }

    /// Runs the remaining optimizer steps.
    /// - Parameters:
    ///   - checkpointDirectory: where `checkpoint-N/` folders go (every save interval and at the end); nil saves none.
    ///   - resumeFrom: a `checkpoint-N/` folder of a run with the same fingerprint to go on from.
    ///   - progress: receives metrics every logging interval (series `train`) and each evaluation (series `eval`).
    public func train(checkpointDirectory: URL? = nil, resumeFrom: URL? = nil, progress: ProgressReporter? = nil,
                      log: StepLog? = nil) throws -> TrainingSummary {
        var state = TrainerState(globalStep: 0, maxSteps: plan.totalSteps,
                                 numTrainEpochs: Double(plan.totalSteps) / Double(plan.stepsPerEpoch), epoch: 0,
                                 loggingSteps: plan.loggingInterval, evalSteps: plan.evalInterval ?? 0,
                                 saveSteps: plan.saveInterval ?? 0, trainBatchSize: options.microBatchSize, logHistory: [])
        var start = 0, pendingLoss = (sum: 0.0, steps: 0)
        if let resumeFrom {
            let checkpoint = try TrainingCheckpoint.read(from: resumeFrom, expecting: fingerprint)
            let position = plan.position(ofStep: checkpoint.step, gradientAccumulationSteps: options.gradientAccumulationSteps)
            guard checkpoint.step <= plan.totalSteps, position.epoch == checkpoint.epoch,
                  checkpoint.step % plan.stepsPerEpoch == checkpoint.stepInEpoch
            else {
                throw TrainingError("\(resumeFrom.path): step \(checkpoint.step) (epoch \(checkpoint.epoch)) does not fit this run of \(plan.totalSteps) steps; the checkpoint is from another run")
            }
            try TrainingCheckpoint.restore(from: resumeFrom, model: model, optimizers: optimizers)
            state = try TrainerState.read(from: resumeFrom.appendingPathComponent(TrainingCheckpoint.stateFile))
            start = checkpoint.step
            pendingLoss = (checkpoint.pendingLossSum, checkpoint.pendingLossSteps)
            log?.info("resuming from \(resumeFrom.path) at step \(start) of \(plan.totalSteps)")
        }
        let clock = ContinuousClock(), began = clock.now
        var meter = ThroughputMeter(start: began)
        (meter.lossSum, meter.steps) = pendingLoss
        var lastProgress = began
        var totals = (trained: 0, tokens: 0)
        var order: (epoch: Int, rows: [Int]) = (-1, [])
        for step in start..<plan.totalSteps {
            let position = plan.position(ofStep: step, gradientAccumulationSteps: options.gradientAccumulationSteps)
            if order.epoch != position.epoch { order = (position.epoch, shuffledRows(epoch: position.epoch)) }
            let micro = options.microBatchSize
            let rows = order.rows[(position.microBatches.lowerBound * micro)..<min(position.microBatches.upperBound * micro, order.rows.count)]
            let result = try optimizerStep(step, rows: Array(rows))
            totals.trained += result.trained
            totals.tokens += result.tokens
            meter.add(loss: result.loss, tokens: result.tokens)

            let done = step + 1
            state.globalStep = done
            state.epoch = Double(done) / Double(plan.stepsPerEpoch)
            if done % plan.loggingInterval == 0 || done == plan.totalSteps {
                let now = clock.now
                let entry = TrainingLogEntry(step: done, epoch: state.epoch, loss: meter.meanLoss, learningRate: result.learningRate,
                                             gradNorm: result.gradNorm)
                state.logHistory.append(entry)
                let perStep = (now - began).seconds / Double(done - start)
                var metrics = ["loss": entry.loss ?? 0, "learning_rate": result.learningRate, "epoch": state.epoch,
                               "tokens_per_second": meter.tokensPerSecond(at: now),
                               "eta_seconds": perStep * Double(plan.totalSteps - done)]
                if let g = result.gradNorm { metrics["grad_norm"] = g }
                progress?.update(completed: Double(done), total: Double(plan.totalSteps), unit: "steps", metrics: metrics, step: done)
                progress?.record(metrics.filter { ["loss", "learning_rate", "grad_norm"].contains($0.key) }, step: done, series: "train")
                log?.info(String(format: "step %d/%d  loss %.4f  lr %.3g  grad_norm %.3f  %.0f tokens/s  eta %.0fs", done,
                                 plan.totalSteps, entry.loss ?? 0, result.learningRate, result.gradNorm ?? 0,
                                 metrics["tokens_per_second"] ?? 0, metrics["eta_seconds"] ?? 0))
                onProgress?(entry, metrics)
                meter = ThroughputMeter(start: now)
                lastProgress = now
            } else if progress != nil, clock.now - lastProgress >= .seconds(1) {
                // Between logging steps the bar still moves, at most once a second.
                progress?.update(completed: Double(done), total: Double(plan.totalSteps), unit: "steps", step: done)
                lastProgress = clock.now
            }
            if !dataset.eval.tokens.isEmpty, isEvalStep(done), let evalLoss = try evaluate() {
                let entry = TrainingLogEntry(step: done, epoch: state.epoch, evalLoss: evalLoss)
                state.logHistory.append(entry)
                progress?.record(["eval_loss": evalLoss], step: done, series: "eval")
                log?.info(String(format: "step %d/%d  eval_loss %.4f", done, plan.totalSteps, evalLoss))
                onProgress?(entry, ["eval_loss": evalLoss])
            }
            if let checkpointDirectory, plan.saveInterval.map({ done % $0 == 0 }) ?? false || done == plan.totalSteps {
                let next = plan.position(ofStep: done, gradientAccumulationSteps: options.gradientAccumulationSteps)
                try TrainingCheckpoint.save(step: done, epoch: next.epoch, stepInEpoch: done % plan.stepsPerEpoch,
                                            pendingLoss: (meter.lossSum, meter.steps), fingerprint: fingerprint, baseModelName: baseModelName, model: model,
                                            optimizers: optimizers, state: state, under: checkpointDirectory)
            }
        }
        return TrainingSummary(steps: state.globalStep, resumedFromStep: start,
                               finalLoss: state.logHistory.last(where: { $0.loss != nil })?.loss,
                               finalEvalLoss: state.logHistory.last(where: { $0.evalLoss != nil })?.evalLoss,
                               trainedTokens: totals.trained, tokens: totals.tokens, seconds: (clock.now - began).seconds, state: state)
    }

    /// The token-weighted mean loss over the eval split (batches of `eval_batch_size` in stored order); nil when empty.
    public func evaluate() throws -> Double? {
        var sum = 0.0, count = 0
        for prepared in dataset.batches(of: "eval", batchSize: options.evalBatchSize) {
            let loss = try model.forward(try LlamaBatch(prepared: prepared), training: false)
            sum += loss.sum
            count += loss.count
        }
        return count > 0 ? sum / Double(count) : nil
    }

    /// The training rows in epoch `epoch`'s order.
    public func shuffledRows(epoch: Int) -> [Int] {
        var shuffle = DatasetShuffle(seed: UInt64(truncatingIfNeeded: options.seed) &+ UInt64(epoch))
        return shuffle.permutation(dataset.train.rowCount)
    }

    private func isEvalStep(_ done: Int) -> Bool {
        if done == plan.totalSteps { return true }
        if let interval = plan.evalInterval { return done % interval == 0 }
        return done % plan.stepsPerEpoch == 0
    }

    /// One optimizer step over `rows`: forward and backward per micro-batch, clip, update.
    func optimizerStep(_ step: Int, rows: [Int]) throws
        -> (loss: Double, trained: Int, tokens: Int, learningRate: Double, gradNorm: Double?)
    {
        let batches = try dataset.batches(of: "train", batchSize: options.microBatchSize, order: rows).map {
            (batch: try LlamaBatch(prepared: $0), tokens: $0.segmentIDs.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) })
        }
        let loss = try accumulateGradients(step, batches.map(\.batch))
        let gradNorm = options.maxGradNorm > 0
            ? GradientClipping.clipByGlobalNorm(optimizers.flatMap(\.parameters), maxNorm: options.maxGradNorm) : nil
        let learningRate = schedule.learningRate(step: step)
        for optimizer in optimizers { optimizer.update(learningRate: learningRate) }
        return (loss.mean, loss.count, batches.reduce(0) { $0 + $1.tokens }, learningRate, gradNorm)
    }

    /// Zeroes the gradients, then adds those of `batches` with each token weighted 1 / (trained tokens of all).
    func accumulateGradients(_ step: Int, _ batches: [LlamaBatch]) throws -> LlamaLoss {
        model.zeroGradients()
        let trained = batches.reduce(0) { $0 + $1.trainedTokenCount }
        var total = LlamaLoss(sum: 0, count: 0, perSample: [])
        for (i, batch) in batches.enumerated() {
            let loss: LlamaLoss
            if trained > 0 {
                // rows split over the threads (LlamaModel.forwardBackward)
                loss = try model.forwardBackward(batch, lossScale: Float(1 / Double(trained)),
                                                 dropoutSeed: dropoutSeed(step: step, microBatch: i))
            } else {
                // nothing to train in the whole step: the loss is still reported, no gradient is added
                loss = try model.forward(batch, training: false)
            }
            total.sum += loss.sum
            total.count += loss.count
        }
        return total
    }

    private func dropoutSeed(step: Int, microBatch: Int) -> UInt64 {
        var random = TensorRandom(seed: UInt64(truncatingIfNeeded: options.seed))
        for _ in 0..<3 { _ = random.next() }
        return random.next() ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(microBatch) &* 0xD1B5_4A32_D192_ED03)
    }
}

/// Loss and tokens since the last log, for the logged mean loss and tokens/s.
struct ThroughputMeter {
    let start: ContinuousClock.Instant
    var lossSum = 0.0, steps = 0, tokens = 0

    init(start: ContinuousClock.Instant) { self.start = start }

    mutating func add(loss: Double, tokens: Int) {
        lossSum += loss
        steps += 1
        self.tokens += tokens
    }

    var meanLoss: Double { steps > 0 ? lossSum / Double(steps) : 0 }

    func tokensPerSecond(at now: ContinuousClock.Instant) -> Double {
        let seconds = (now - start).seconds
        return seconds > 0 ? Double(tokens) / seconds : 0
    }
}

private extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

private extension JSONEncoder {
    static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
