import Foundation

/// The learning rate per optimizer step, exactly as transformers' `get_cosine_schedule_with_warmup`,
/// `get_linear_schedule_with_warmup` and `get_constant_schedule_with_warmup` compute it (the Trainer
/// steps the scheduler after each optimizer step, so optimizer step k, 0-based, uses λ(k)).
public struct LearningRateSchedule: Sendable, Equatable {
    /// The decay after warmup.
    public enum Kind: String, Sendable, CaseIterable {
        /// Half a cosine wave from the peak down to 0.
        case cosine
        /// A straight line from the peak down to 0 at the last step.
        case linear
        /// The peak until the end.
        case constant
    }

    /// Which decay follows warmup.
    public var kind: Kind
    /// The rate at the end of warmup (the config's `learning_rate`).
    public var peakLearningRate: Double
    /// Optimizer steps of linear warmup from 0.
    public var warmupSteps: Int
    /// All optimizer steps of the run.
    public var totalSteps: Int

    /// A schedule over `totalSteps` optimizer steps.
    public init(kind: Kind, peakLearningRate: Double, warmupSteps: Int, totalSteps: Int) {
        self.kind = kind
        self.peakLearningRate = peakLearningRate
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The schedule named by Axolotl's `lr_scheduler`: `cosine`, `linear`, `constant` (no warmup, as
    /// transformers' `constant`) or `constant_with_warmup`.
    public init(lrScheduler name: String, peakLearningRate: Double, warmupSteps: Int, totalSteps: Int) throws {
        let kind: Kind, warmup: Int
        switch name {
        case "cosine": (kind, warmup) = (.cosine, warmupSteps)
        case "linear": (kind, warmup) = (.linear, warmupSteps)
        case "constant_with_warmup": (kind, warmup) = (.constant, warmupSteps)
        case "constant": (kind, warmup) = (.constant, 0)
        default:
            throw TrainingError("lr_scheduler `\(name)` is not supported; use cosine, linear, constant or constant_with_warmup")
        }
        self.init(kind: kind, peakLearningRate: peakLearningRate, warmupSteps: warmup, totalSteps: totalSteps)
    }

    /// The learning rate of optimizer step `step` (0-based): `peak · λ(step)`, as torch's `LambdaLR` computes it.
    public func learningRate(step: Int) -> Double { peakLearningRate * multiplier(step: step) }

    /// λ(step), written in the same operation order as transformers so that the values agree to the last bit.
    public func multiplier(step: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        switch kind {
        case .cosine:
            let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
            return max(0, 0.5 * (1 + cos(Double.pi * 0.5 * 2 * progress)))
        case .linear:
            return max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps)))
        case .constant:
            return 1
        }
    }
}
