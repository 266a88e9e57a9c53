/// A dense row-major F32 tensor that owns its memory; a class so layers share buffers without copies.
///
/// Hot loops take `data` (an `UnsafeMutablePointer<Float>`) directly: no bounds checks, no copy-on-write.
public final class Tensor: @unchecked Sendable {
    /// The dimensions, outermost first.
    public let shape: [Int]
    /// The number of elements (the product of `shape`).
    public let count: Int
    /// The elements, row-major; valid for the tensor's lifetime.
    public let data: UnsafeMutablePointer<Float>
    /// For a view: the tensor whose memory it shares (kept alive by the view); nil when this tensor owns its memory.
    private let base: Tensor?

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = .allocate(capacity: max(count, 1))
        data.initialize(repeating: 0, count: max(count, 1))
        self.base = nil
    }

    /// A view of `count(shape)` consecutive elements of `base` starting at `offset`: writes go to `base`.
    /// Fused weights use this: q, k and v are views of one [q+k+v, D] matrix so one sgemm computes all three.
    public init(viewing base: Tensor, offset: Int, shape: [Int]) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        precondition(offset >= 0 && offset + count <= base.count, "view \(offset)+\(shape) outside \(base.shape)")
        self.data = base.data + offset
        self.base = base
    }

    /// A tensor holding `values` (whose count must equal the product of `shape`).
    public convenience init(shape: [Int], values: [Float]) {
        self.init(zeros: shape)
        precondition(values.count == count, "Tensor(shape: \(shape)) given \(values.count) values")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit {
        if base == nil { data.deallocate() }
    }

    /// The elements as a buffer, for loops that want `for i in buffer.indices`.
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }

    /// The elements copied into an array.
    public var values: [Float] { Array(buffer) }

    /// A deep copy.
    public func copy() -> Tensor {
        let t = Tensor(zeros: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// Sets every element to zero.
    public func zero() { data.update(repeating: 0, count: count) }

    /// Copies the elements of `other` (same element count) into this tensor.
    public func copyValues(from other: Tensor) {
        precondition(other.count == count, "copyValues: \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }
}
