import COpenBLAS
import Foundation

/// A Llama model prepared for inference: read-only weights and an optional LoRA adapter applied on the fly
/// (W·x + scaling·B·(A·x), no merge), shared by any number of concurrent `GenerationSession`s.
public final class GenerationModel: Sendable {
    /// The architecture.
    public let config: LlamaConfig
    /// The base (or already merged) weights.
    public let weights: LlamaWeights
    /// The adapter added on the fly; nil for the weights alone.
    public let adapter: LoRAAdapter?
    /// The embedding table and LM head in use: the adapter's saved copies (`modules_to_save`) where it has them.
    let embedTokens: Tensor, outputProjection: Tensor
    /// The threads each forward pass splits its products over.
    public let threads: ComputeThreads
    /// How the streamed weights are stored.
    public let precision: GenerationWeightPrecision
    /// BF16 copies of each layer's [qkv, o, gateUp, down] and of the LM head (only with `.bfloat16`).
    let bfloat16Layers: [[GenerationBFloat16Matrix]]
    let bfloat16Head: GenerationBFloat16Matrix?

    /// A model over `weights`, with `adapter` (if any) applied without merging.
    /// - Parameter precision: `.bfloat16` rounds the projections and LM head to BF16 (F32 accumulation).
    public init(weights: LlamaWeights, adapter: LoRAAdapter? = nil, threads: ComputeThreads = .fromEnvironment,
                precision: GenerationWeightPrecision = .float32) throws {
        if let adapter, adapter.modelConfig != weights.config {
            throw GenerationError("the adapter was built for a different model config (hidden \(adapter.modelConfig.hiddenSize), \(adapter.modelConfig.numHiddenLayers) layers) than the weights (hidden \(weights.config.hiddenSize), \(weights.config.numHiddenLayers) layers); load the base model it was trained on")
        }
        self.config = weights.config
        self.weights = weights
        self.adapter = adapter
        embedTokens = weights.embeddingTable(with: adapter)
        outputProjection = weights.lmHeadWeight(with: adapter)
        self.threads = threads
        self.precision = precision
        if precision == .bfloat16 {
            bfloat16Layers = weights.layers.map { layer in
                [layer.qkv, layer.o, layer.gateUp, layer.down].map(GenerationBFloat16Matrix.init)
            }
            bfloat16Head = GenerationBFloat16Matrix(outputProjection)
        } else {
            bfloat16Layers = []
            bfloat16Head = nil
        }
    }

    /// Loads a Hugging Face checkpoint directory and, if given, a PEFT LoRA adapter directory (kept unmerged).
    public convenience init(model: URL, adapter: URL? = nil, threads: ComputeThreads = .fromEnvironment,
                            precision: GenerationWeightPrecision = .float32) throws {
        let weights = try LlamaModel.loadWeights(from: model)
        let lora = try adapter.map { try LoRAAdapter.loadPEFT(from: $0, modelConfig: weights.config) }
        try self.init(weights: weights, adapter: lora, threads: threads, precision: precision)
    }

    /// Bytes of weights one decode step reads (F32 values; BF16 halves the projections and the LM head) (every projection, the LM head, the norms and one embedding row),
    /// plus the adapter's pairs: the memory-bandwidth floor of single-stream decoding.
    public var bytesReadPerToken: Int {
        let c = config
        var floats = c.hiddenSize + c.hiddenSize  // embedding row, final norm
        var streamed = c.vocabSize * c.hiddenSize  // LM head
        for layer in weights.layers {
            floats += 2 * c.hiddenSize
            streamed += layer.qkv.count + layer.o.count + layer.gateUp.count + layer.down.count
        }
        for pair in (adapter?.pairs ?? []).joined().compactMap({ $0 }) { floats += pair.a.count + pair.b.count }
        return floats * 4 + streamed * (precision == .bfloat16 ? 2 : 4)
    }

    /// out[n, outFeatures] (rows `ldc` apart) = x[n, inFeatures] · Wᵀ, W [outFeatures, inFeatures].
    /// One row (decoding) is a matrix–vector product; the output features are split over the threads
    /// when the matrix is large enough to pay for the hand-off.
    /// With `bfloat16` given, its BF16 copy of the weight is used instead.
    func linear(out: UnsafeMutablePointer<Float>, ldc: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                bfloat16: GenerationBFloat16Matrix? = nil, n: Int, inFeatures: Int, outFeatures: Int) {
        let parallel = outFeatures * inFeatures * n >= GenerationModel.parallelThreshold
        let threads = parallel ? self.threads : ComputeThreads(count: 1)
        threads.forRanges(outFeatures, minimum: 64) { cols in
            if let bfloat16 {
                if n == 1 {
                    bfloat16.multiply(vector: x, into: out, rows: cols)
                } else {
                    bfloat16.multiply(matrix: x, n: n, into: out, ldc: ldc, rows: cols)
                }
                return
            }
            let w = weight + cols.lowerBound * inFeatures
            if n == 1 {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(cols.count), Int32(inFeatures), 1, w, Int32(inFeatures),
                            x, 1, 0, out + cols.lowerBound, 1)
            } else if n <= Self.fewRows {
                Self.multiply(weight: w, rows: cols.count, columns: inFeatures, x: x, n: n, into: out + cols.lowerBound, ldc: ldc)
            } else {
                GEMM.sgemm(transB: true, m: n, n: cols.count, k: inFeatures, a: x, lda: inFeatures, b: w, ldb: inFeatures,
                           c: out + cols.lowerBound, ldc: ldc)
            }
        }
    }

    /// Up to this many rows (a batch of decoding requests) go through `multiply(weight:…)`; more (a prompt) through a
    /// row-major sgemm, whose kernels suit a long row count (each tile of `multiply` packs its inputs again).
    static let fewRows = 16

    /// out[j, r] (rows `ldc` apart) = W[r]·x[j] for r < rows, j < n, W [rows, columns]: column-major sgemms with
    /// the weights as their long side, `tileRows` rows at a time. OpenBLAS's kernels are blocked for a long M and a
    /// short N; row-major (x · Wᵀ) the few rows of a decoding batch would be M and leave most of each block idle,
    /// and over the whole matrix at once a short N ran slower than tile by tile (measured on the ~100M model).
    static func multiply(weight: UnsafePointer<Float>, rows: Int, columns k: Int, x: UnsafePointer<Float>, n: Int,
                         into out: UnsafeMutablePointer<Float>, ldc: Int) {
        var start = 0
        while start < rows {
            let count = min(tileRows, rows - start)
            cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, Int32(count), Int32(n), Int32(k), 1, weight + start * k,
                        Int32(k), x, Int32(k), 0, out + start, Int32(ldc))
            start += count
        }
    }

    /// Weight rows per sgemm in `multiply(weight:…)` (and per widened BF16 tile).
    static let tileRows = 128

    /// Multiply-adds below this stay on one thread (measured: splitting a 128×352 product costs more than it saves).
    static let parallelThreshold = 1 << 18

    /// out += scaling · (x·Aᵀ)·Bᵀ when `p` is adapted in `layer`; `scratch` holds at least n·r floats.
    func addLoRA(_ p: LlamaProjection, layer: Int, x: UnsafePointer<Float>, n: Int, out: UnsafeMutablePointer<Float>,
                 ldc: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let adapter, let pair = adapter.pair(layer: layer, p) else { return }
        let (outFeatures, inFeatures) = p.shape(config)
        let r = adapter.config.rank
        GEMM.sgemm(transB: true, m: n, n: r, k: inFeatures, a: x, lda: inFeatures, b: pair.a.data, ldb: inFeatures,
                   c: scratch, ldc: r)
        GEMM.sgemm(transB: true, m: n, n: outFeatures, k: r, alpha: adapter.config.scaling, a: scratch, lda: r,
                   b: pair.b.data, ldb: r, beta: 1, c: out, ldc: ldc)
    }

    /// The adapter's rank (0 without one): the LoRA scratch a session needs per row.
    var adapterRank: Int { adapter?.config.rank ?? 0 }
}
