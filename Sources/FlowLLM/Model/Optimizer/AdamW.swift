import Foundation

/// AdamW with PyTorch's semantics (`torch.optim.AdamW`, single-tensor path): decoupled weight decay
/// p ← p·(1 − lr·wd), bias-corrected moments, `eps` added after the bias-corrected square root.
public final class AdamW {
    /// The tensors updated, with their gradients.
    public let parameters: [LlamaTrainableParameter]
    /// β1 and β2 of the moment estimates (torch: 0.9, 0.999).
    public var beta1: Double
    public var beta2: Double
    /// ε added to the denominator (torch: 1e-8).
    public var epsilon: Double
    /// Decoupled weight decay: p ← p·(1 − lr·wd) before the Adam step.
    public var weightDecay: Double
    /// Steps taken so far (the t of the bias correction).
    public private(set) var step = 0
    /// First and second moment estimates, one per parameter.
    public let firstMoments: [Tensor]
    public let secondMoments: [Tensor]

    /// An optimizer over `parameters` with torch's defaults except `weightDecay` (transformers' Trainer uses 0).
    public init(parameters: [LlamaTrainableParameter], beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 0) {
        self.parameters = parameters
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoments = parameters.map { Tensor(zeros: $0.value.shape) }
        secondMoments = parameters.map { Tensor(zeros: $0.value.shape) }
    }

    /// Restores the moments and step count saved from an earlier run (for resuming from a checkpoint).
    public func restore(step: Int, firstMoments m: [Tensor], secondMoments v: [Tensor]) throws {
        guard m.count == firstMoments.count, v.count == secondMoments.count,
              zip(m, firstMoments).allSatisfy({ $0.count == $1.count }), zip(v, secondMoments).allSatisfy({ $0.count == $1.count })
        else { throw LlamaModelError("optimizer state does not match the trainable parameters; was it saved for another model or adapter?") }
        for (dst, src) in zip(firstMoments, m) { dst.copyValues(from: src) }
        for (dst, src) in zip(secondMoments, v) { dst.copyValues(from: src) }
        self.step = step
    }

    /// Applies one update with learning rate `lr` from the gradients now accumulated (it does not zero them).
    public func update(learningRate lr: Double) {
        step += 1
        let decay = Float(1 - lr * weightDecay)
        let b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        let stepSize = Float(lr / (1 - pow(beta1, Double(step))))
        let bias2Sqrt = Float((1 - pow(beta2, Double(step))).squareRoot())
        for (i, parameter) in parameters.enumerated() {
            let p = parameter.value.data, g = parameter.gradient.data
            let m = firstMoments[i].data, v = secondMoments[i].data
            for j in 0..<parameter.value.count {
                p[j] *= decay
                m[j] += (1 - b1) * (g[j] - m[j])  // torch's lerp_(grad, 1 − β1)
                v[j] = v[j] * b2 + (1 - b2) * g[j] * g[j]
                let denominator = v[j].squareRoot() / bias2Sqrt + eps
                p[j] -= stepSize * m[j] / denominator
            }
        }
    }
}
