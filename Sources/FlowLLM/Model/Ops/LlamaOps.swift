/// The layers of a Llama model as plain functions, one forward and one backward each, in the style of
/// llm.c: row-major F32 buffers, shapes in comments, `N` = rows × length tokens, `D` = hidden size.
/// Backward functions *accumulate* (`+=`) into parameter gradients and, where stated, into input gradients.
public enum LlamaOps {
    /// out[n, :] = table[tokens[n], :]
    /// out [N, D], table [V, D]
    static func embeddingForward(out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>, table: UnsafePointer<Float>,
                                 n: Int, d: Int) {
        for i in 0..<n {
            (out + i * d).update(from: table + Int(tokens[i]) * d, count: d)
        }
    }

    /// dtable[tokens[n], :] += dout[n, :]
    /// dtable [V, D], dout [N, D]
    static func embeddingBackward(dtable: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, tokens: UnsafePointer<Int32>,
                                  n: Int, d: Int) {
        for i in 0..<n {
            let row = dtable + Int(tokens[i]) * d, g = dout + i * d
            for j in 0..<d { row[j] += g[j] }
        }
    }

    /// out = a + b, elementwise over `count` values (the residual connection).
    static func residualForward(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = a[i] + b[i] }
    }
}
