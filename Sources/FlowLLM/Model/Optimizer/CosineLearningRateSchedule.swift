import Foundation

/// Linear warmup then cosine decay to 0, exactly as transformers' `get_cosine_schedule_with_warmup`
/// (half a cycle): the rate for optimizer step k (0-based) is `peak · λ(k)`.
public struct CosineLearningRateSchedule: Sendable, Equatable {
    /// The rate at the end of warmup.
    public var peakLearningRate: Double
    /// Optimizer steps of linear warmup from 0.
    public var warmupSteps: Int
    /// All optimizer steps of the run.
    public var totalSteps: Int
    /// Cosine cycles over the decay (transformers' default 0.5: one half-wave down to 0).
    public var cycles: Double

    /// A schedule over `totalSteps` optimizer steps.
    public init(peakLearningRate: Double, warmupSteps: Int, totalSteps: Int, cycles: Double = 0.5) {
        self.peakLearningRate = peakLearningRate
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.cycles = cycles
    }

    /// The learning rate of optimizer step `step` (0-based); note that step 0 of a warmup gets 0.
    public func learningRate(step: Int) -> Double {
        if step < warmupSteps { return peakLearningRate * Double(step) / Double(max(1, warmupSteps)) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return peakLearningRate * max(0, 0.5 * (1 + cos(Double.pi * cycles * 2 * progress)))
    }
}
