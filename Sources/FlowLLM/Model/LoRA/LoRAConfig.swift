/// LoRA hyperparameters, as in PEFT's `LoraConfig`.
public struct LoRAConfig: Sendable, Equatable {
    /// The rank r of A [r, in] and B [out, r].
    public var rank: Int
    /// `lora_alpha`.
    public var alpha: Double
    /// `lora_dropout`: the probability of zeroing an input of the LoRA path while training.
    public var dropout: Float
    /// The projections that get adapters (`lora_target_modules`; all seven for `lora_target_linear`).
    public var targets: [LlamaProjection]
    /// `use_rslora`: scale by alpha / √r instead of alpha / r.
    public var useRSLoRA: Bool
    /// `modules_to_save`: whole modules trained as full copies beside the pairs.
    public var modulesToSave: [LoRASavedModule]

    /// A configuration; `targets` defaults to every linear projection (PEFT's `all-linear` for Llama).
    public init(rank: Int, alpha: Double, dropout: Float = 0, targets: [LlamaProjection] = LlamaProjection.allCases,
                useRSLoRA: Bool = false, modulesToSave: [LoRASavedModule] = []) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
        self.useRSLoRA = useRSLoRA
        self.modulesToSave = modulesToSave
    }

    /// The factor on B·A: `lora_alpha / r`, or `lora_alpha / √r` with rsLoRA.
    public var scaling: Float {
        Float(useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank))
    }

    /// Checks the values a user could get wrong.
    public func validate() throws {
        guard rank > 0 else { throw LlamaModelError("lora_r is \(rank); it must be a positive integer") }
        guard dropout >= 0, dropout < 1 else { throw LlamaModelError("lora_dropout is \(dropout); it must be in [0, 1)") }
        guard !targets.isEmpty else {
            throw LlamaModelError("lora_target_modules is empty; name some of \(LlamaProjection.allCases.map(\.rawValue)) or set lora_target_linear")
        }
    }
}
