import Foundation

/// A named trainable tensor with its gradient accumulator, as an optimizer sees it.
public struct LlamaTrainableParameter: Sendable {
    /// The Hugging Face or PEFT tensor name.
    public let name: String
    /// The tensor the optimizer updates in place.
    public let value: Tensor
    /// Its gradient accumulator.
    public let gradient: Tensor
}

/// Hugging Face's `LlamaForCausalLM` in F32 on OpenBLAS: forward over packed batches, hand-written backward,
/// optional LoRA adapter, gradients for the adapter (LoRA) or for every base weight (full fine-tuning).
///
/// Use: `forward(batch)` → loss and `logits`; then `backward()` accumulates gradients (it consumes the logits);
/// `zeroGradients()` between optimizer steps. Not thread-safe: one model per training loop.
public final class LlamaModel {
    /// The architecture.
    public let config: LlamaConfig
    /// The base weights (updated in place by full fine-tuning).
    public let weights: LlamaWeights
    /// The adapter whose pairs join every adapted projection and whose saved modules (`modules_to_save`) stand in
    /// for the base embedding and LM head; nil for the base model alone.
    public let adapter: LoRAAdapter?
    /// Gradients of the adapter's pairs and saved modules (present with an adapter).
    public let adapterGradients: LoRAAdapter?
    /// Gradients of every base weight (present only for full fine-tuning).
    public let gradients: LlamaWeights?

    /// The threads forward and backward split their work over.
    public let threads: ComputeThreads

    let rope: LlamaRoPETable
    var activations: LlamaActivations?
    var lastBatch: LlamaBatch?
    var lastTargets: [Int32] = []
    var lastLossCount = 0
    var dropoutRandom: TensorRandom
    /// Models over the same weights and adapter, one thread and their own gradients each, that `forwardBackward`
    /// runs a batch's rows on side by side (created on first use).
    var replicas: [LlamaModel] = []

    /// A model over `weights`; with `adapter` only the adapter trains, with `trainsBaseWeights` every base weight does.
    /// - Parameters:
    ///   - seed: seeds LoRA dropout (unused when `lora_dropout` is 0).
    ///   - threads: how many threads to compute on; by default what the environment grants the step.
    public init(weights: LlamaWeights, adapter: LoRAAdapter? = nil, trainsBaseWeights: Bool = false, seed: UInt64 = 0,
                threads: ComputeThreads = .fromEnvironment) {
        self.threads = threads
        self.config = weights.config
        self.weights = weights
        self.adapter = adapter
        self.adapterGradients = adapter?.zerosLike()
        self.gradients = trainsBaseWeights ? LlamaWeights.zeros(weights.config) : nil
        self.rope = LlamaRoPETable(config: weights.config)
        self.dropoutRandom = TensorRandom(seed: seed)
    }

    /// Loads `config.json` and the safetensors weights (single or sharded) of a Hugging Face checkpoint directory.
    public static func loadWeights(from directory: URL) throws -> LlamaWeights {
        let config = try LlamaConfig.load(from: directory.appendingPathComponent("config.json"))
        return try LlamaWeights.load(from: ShardedSafeTensors(directory: directory), config: config)
    }

    /// The logits `[rows * length, vocab]` of the last `forward`, until `backward` consumes them.
    public var logits: Tensor? { activations?.logits }

    /// Every tensor the optimizer updates, with its gradient: adapter pairs and saved modules under PEFT names, or base weights
    /// under Hugging Face names.
    public var trainableParameters: [LlamaTrainableParameter] {
        var out: [LlamaTrainableParameter] = []
        if let adapter, let adapterGradients {
            for (p, g) in zip(adapter.namedTensors, adapterGradients.namedTensors) {
                out.append(LlamaTrainableParameter(name: p.name, value: p.tensor, gradient: g.tensor))
            }
        }
        if let gradients {
            for (p, g) in zip(weights.namedTensors, gradients.namedTensors) {
                out.append(LlamaTrainableParameter(name: p.name, value: p.tensor, gradient: g.tensor))
            }
        }
        return out
    }

    /// Sets every gradient to zero.
    public func zeroGradients() {
        for p in trainableParameters { p.gradient.zero() }
    }
}
