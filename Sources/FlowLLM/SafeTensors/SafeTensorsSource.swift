/// Something tensors can be read from by name: one safetensors file or a sharded checkpoint.
public protocol SafeTensorsSource: Sendable {
    /// Every tensor name, in a stable order.
    var tensorNames: [String] { get }
    /// The dtype, shape and location of `name`, or nil when absent.
    func info(_ name: String) -> SafeTensorsTensorInfo?
    /// Decodes `name` (F32, F16 or BF16) into F32, checking the shape when `expectedShape` is given.
    func tensor(_ name: String, expectedShape: [Int]?) throws -> Tensor
}

extension SafeTensorsSource {
    /// Decodes `name` into F32 without a shape check.
    public func tensor(_ name: String) throws -> Tensor { try tensor(name, expectedShape: nil) }

    /// Whether `name` is present.
    public func contains(_ name: String) -> Bool { info(name) != nil }
}
