import Foundation

/// One entry of the log history: training metrics at a logging step, or an evaluation.
public struct TrainingLogEntry: Codable, Sendable, Equatable {
    /// The optimizer step (1-based: steps done) and the fractional epoch reached.
    public var step: Int, epoch: Double
    /// Mean training loss of the steps since the previous log (each step's loss is its token mean).
    public var loss: Double?
    /// The learning rate and pre-clipping gradient norm of the last of those steps.
    public var learningRate: Double?, gradNorm: Double?
    /// Token-weighted mean loss over the eval split.
    public var evalLoss: Double?

    enum CodingKeys: String, CodingKey {
        case step, epoch, loss
        case learningRate = "learning_rate", gradNorm = "grad_norm", evalLoss = "eval_loss"
    }

    /// An entry at `step`.
    public init(step: Int, epoch: Double, loss: Double? = nil, learningRate: Double? = nil, gradNorm: Double? = nil,
                evalLoss: Double? = nil) {
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.learningRate = learningRate
        self.gradNorm = gradNorm
        self.evalLoss = evalLoss
    }
}

/// `trainer_state.json`, shaped like transformers' `TrainerState`: the step reached and the log history.
/// It holds no wall-clock figures, so equal runs write equal files.
public struct TrainerState: Codable, Sendable, Equatable {
    /// Optimizer steps done and planned.
    public var globalStep: Int, maxSteps: Int
    /// Epochs planned and the fractional epoch reached.
    public var numTrainEpochs: Double, epoch: Double
    /// Logging, eval and save intervals in steps (0 where unset).
    public var loggingSteps: Int, evalSteps: Int, saveSteps: Int
    /// Rows per micro-batch.
    public var trainBatchSize: Int
    /// Every log and eval entry so far, in step order.
    public var logHistory: [TrainingLogEntry]

    enum CodingKeys: String, CodingKey {
        case globalStep = "global_step", maxSteps = "max_steps", numTrainEpochs = "num_train_epochs", epoch
        case loggingSteps = "logging_steps", evalSteps = "eval_steps", saveSteps = "save_steps"
        case trainBatchSize = "train_batch_size", logHistory = "log_history"
    }

    /// Writes the state as sorted, indented JSON.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    /// Reads a state written by `write(to:)`.
    public static func read(from url: URL) throws -> TrainerState {
        guard let data = try? Data(contentsOf: url) else { throw TrainingError("\(url.path): missing or unreadable") }
        do { return try JSONDecoder().decode(TrainerState.self, from: data) } catch {
            throw TrainingError("\(url.path): not a trainer state (\(error))")
        }
    }
}

/// What a finished run reports.
public struct TrainingSummary: Sendable {
    /// Optimizer steps done (including those before a resume) and the step resumed from (0 when fresh).
    public var steps: Int, resumedFromStep: Int
    /// The last logged training loss and the last eval loss, if any.
    public var finalLoss: Double?, finalEvalLoss: Double?
    /// Trained tokens and non-padding tokens processed in this process, and the seconds it took.
    public var trainedTokens: Int, tokens: Int, seconds: Double
    /// The full state, as written to `trainer_state.json`.
    public var state: TrainerState

    /// Non-padding tokens per second in this process.
    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}
