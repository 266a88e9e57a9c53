import Foundation
import Testing
@testable import FlowLLM

@Suite struct TrainerScheduleTests {
    struct Fixture: Decodable {
        struct Case: Decodable { let scheduler: String, peak: Double, warmup: Int, total: Int, rates: [Double] }
        let cases: [Case]
    }

    /// Every rate of transformers' three warmup schedules (scripts/fixtures/trainer.py), to the last bit.
    @Test func schedulesEqualTransformers() throws {
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: TrainerTests.fixture("schedules.json")))
        #expect(fixture.cases.count == 18)
        for c in fixture.cases {
            let schedule = try LearningRateSchedule(lrScheduler: c.scheduler, peakLearningRate: c.peak, warmupSteps: c.warmup,
                                                    totalSteps: c.total)
            for (k, expected) in c.rates.enumerated() {
                #expect(schedule.learningRate(step: k) == expected, "\(c.scheduler) warmup \(c.warmup) total \(c.total) step \(k)")
            }
        }
    }

    /// `constant` ignores warmup as transformers' `get_constant_schedule` does; unknown names are refused.
    @Test func constantWithoutWarmupAndUnknownNames() throws {
        let constant = try LearningRateSchedule(lrScheduler: "constant", peakLearningRate: 1e-3, warmupSteps: 5, totalSteps: 10)
        #expect(constant.learningRate(step: 0) == 1e-3)
        #expect(throws: TrainingError.self) {
            try LearningRateSchedule(lrScheduler: "one_cycle", peakLearningRate: 1e-3, warmupSteps: 0, totalSteps: 10)
        }
    }

    /// Steps per epoch, total steps, warmup and intervals as Axolotl and transformers resolve them.
    @Test func planResolvesCounts() throws {
        var o = TrainingOptions()
        o.microBatchSize = 2
        o.gradientAccumulationSteps = 3
        o.numEpochs = 2.5
        o.warmupRatio = 0.1
        o.evalSteps = 0.25
        o.savesPerEpoch = 2
        let plan = try TrainingPlan(options: o, rows: 13)  // 7 micro-batches → 3 steps an epoch (3, 3, 1)
        #expect(plan.microBatchesPerEpoch == 7)
        #expect(plan.stepsPerEpoch == 3)
        #expect(plan.totalSteps == 8)
        #expect(plan.warmupSteps == 1)
        #expect(plan.evalInterval == 2)
        #expect(plan.saveInterval == 1)
        #expect(plan.loggingInterval == 1)
        #expect(plan.position(ofStep: 2, gradientAccumulationSteps: 3).microBatches == 6..<7)
        let fifth = plan.position(ofStep: 4, gradientAccumulationSteps: 3)
        #expect(fifth.epoch == 1 && fifth.microBatches == 3..<6)
        #expect(throws: TrainingError.self) { try TrainingPlan(options: o, rows: 0) }
    }
}
