/// Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_` (the Trainer's `max_grad_norm`).
public enum GradientClipping {
    /// Scales every gradient by min(1, maxNorm / (‖g‖ + 1e-6)), ‖g‖ the L2 norm over all of them together.
    /// - Returns: the norm before clipping (what the Trainer logs as `grad_norm`).
    @discardableResult
    public static func clipByGlobalNorm(_ parameters: [LlamaTrainableParameter], maxNorm: Double) -> Double {
        var sumSquares = 0.0
        for p in parameters {
            let g = p.gradient.data
            for i in 0..<p.gradient.count { sumSquares += Double(g[i]) * Double(g[i]) }
        }
        let norm = sumSquares.squareRoot()
        let coefficient = Float(min(1, maxNorm / (norm + 1e-6)))
        if coefficient < 1 {
            for p in parameters {
                let g = p.gradient.data
                for i in 0..<p.gradient.count { g[i] *= coefficient }
            }
        }
        return norm
    }
}
