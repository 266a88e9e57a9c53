import Foundation

/// The step counts of a run, resolved from `TrainingOptions` and the number of training rows.
///
/// An epoch is ⌈rows / micro_batch_size⌉ micro-batches; an optimizer step takes
/// `gradient_accumulation_steps` of them, and the last step of an epoch takes what remains (so an epoch
/// has ⌈micro-batches / accumulation⌉ steps and no row is skipped).
public struct TrainingPlan: Sendable, Equatable {
    /// Micro-batches and optimizer steps in one epoch.
    public let microBatchesPerEpoch: Int, stepsPerEpoch: Int
    /// Optimizer steps of the whole run.
    public let totalSteps: Int
    /// Warmup steps of the schedule.
    public let warmupSteps: Int
    /// Log metrics every this many steps.
    public let loggingInterval: Int
    /// Evaluate every this many steps; nil evaluates at the end of each epoch.
    public let evalInterval: Int?
    /// Save a checkpoint every this many steps; nil saves only at the end.
    public let saveInterval: Int?

    /// The plan for `rows` training rows.
    public init(options o: TrainingOptions, rows: Int) throws {
        guard rows > 0 else { throw TrainingError("the training split is empty; prepare some data first (check val_set_size and the length filters)") }
        microBatchesPerEpoch = (rows + o.microBatchSize - 1) / o.microBatchSize
        stepsPerEpoch = (microBatchesPerEpoch + o.gradientAccumulationSteps - 1) / o.gradientAccumulationSteps
        totalSteps = o.maxSteps ?? max(1, Int((o.numEpochs * Double(stepsPerEpoch)).rounded(.up)))
        var axolotl = AxolotlConfig()
        axolotl.warmupSteps = o.warmupSteps
        axolotl.warmupRatio = o.warmupRatio
        warmupSteps = axolotl.resolvedWarmupSteps(totalSteps: totalSteps)
        loggingInterval = o.loggingSteps.map { max(1, $0) } ?? max(min(Int(0.005 * Double(totalSteps)), 10), 1)
        evalInterval = Self.interval(o.evalSteps, perEpoch: o.evalsPerEpoch, stepsPerEpoch: stepsPerEpoch, totalSteps: totalSteps)
        saveInterval = Self.interval(o.saveSteps, perEpoch: o.savesPerEpoch, stepsPerEpoch: stepsPerEpoch, totalSteps: totalSteps)
    }

    /// transformers' reading of `eval_steps` / `save_steps` (below 1: a fraction of the run, rounded up), else
    /// Axolotl's `evals_per_epoch` / `saves_per_epoch` (steps per epoch divided evenly).
    private static func interval(_ steps: Double?, perEpoch: Int?, stepsPerEpoch: Int, totalSteps: Int) -> Int? {
        if let steps, steps > 0 { return steps < 1 ? max(1, Int((steps * Double(totalSteps)).rounded(.up))) : Int(steps) }
        if let perEpoch, perEpoch > 0 { return max(1, stepsPerEpoch / perEpoch) }
        return nil
    }

    /// Where optimizer step `step` (0-based) reads: its epoch and its micro-batches within that epoch.
    public func position(ofStep step: Int, gradientAccumulationSteps: Int) -> (epoch: Int, microBatches: Range<Int>) {
        let epoch = step / stepsPerEpoch, k = step % stepsPerEpoch
        let first = k * gradientAccumulationSteps
        return (epoch, first..<min(first + gradientAccumulationSteps, microBatchesPerEpoch))
    }
}
