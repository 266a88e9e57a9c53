import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A memory-mapped safetensors file whose header has been validated; tensors decode to F32 on demand.
public final class SafeTensorsFile: SafeTensorsSource, @unchecked Sendable {
    /// Where the file is.
    public let url: URL
    /// The `__metadata__` string map (empty when absent).
    public let metadata: [String: String]
    /// Tensors in data order.
    public let tensors: [SafeTensorsTensorInfo]

    private let mapping: UnsafeRawBufferPointer  // the whole file, read-only
    private let dataStart: Int
    private let indexByName: [String: Int]

    /// Maps and validates the file at `url`; a corrupt or hostile file throws a `SafeTensorsError`.
    public init(url: URL) throws {
        self.url = url
        let path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw SafeTensorsError(.io, file: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw SafeTensorsError(.io, file: path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError(.io, file: path, "not a regular file; pass the .safetensors file (or use ShardedSafeTensors for a directory)")
        }
        let size = Int(status.st_size)
        guard size >= 8 else {
            throw SafeTensorsError(.truncated, file: path, "file is \(size) bytes, shorter than the 8-byte header length")
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw SafeTensorsError(.io, file: path, "cannot mmap: \(String(cString: strerror(errno)))")
        }
        let mapping = UnsafeRawBufferPointer(start: base, count: size)
        let header: SafeTensorsHeader
        do {
            header = try SafeTensorsHeader.parse(mapping, file: path)
        } catch {
            munmap(base, size)
            throw error
        }
        self.mapping = mapping
        self.metadata = header.metadata
        self.tensors = header.tensors
        self.dataStart = header.dataStart
        self.indexByName = Dictionary(header.tensors.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: mapping.baseAddress), mapping.count) }

    public var tensorNames: [String] { tensors.map(\.name) }

    public func info(_ name: String) -> SafeTensorsTensorInfo? {
        indexByName[name].map { tensors[$0] }
    }

    /// The stored bytes of `name`, valid while this file object lives.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let info = try requireInfo(name)
        return UnsafeRawBufferPointer(rebasing: mapping[(dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)])
    }

    public func tensor(_ name: String, expectedShape: [Int]?) throws -> Tensor {
        let info = try requireInfo(name)
        if let expectedShape, expectedShape != info.shape {
            throw SafeTensorsError(.shapeMismatch, file: url.path, tensor: name,
                                   "shape is \(info.shape) but the model config expects \(expectedShape); does config.json match these weights?")
        }
        guard info.dtype.isFloatConvertible else {
            throw SafeTensorsError(.unsupportedDType, file: url.path, tensor: name,
                                   "dtype \(info.dtype.rawValue) cannot be read as floats; only F32, F16 and BF16 are supported")
        }
        let result = Tensor(zeros: info.shape)
        let bytes = try rawBytes(name)
        if let source = bytes.baseAddress {
            SafeTensorsDType.decode(info.dtype, from: source, count: info.elementCount, into: result.data)
        }
        return result
    }

    private func requireInfo(_ name: String) throws -> SafeTensorsTensorInfo {
        guard let info = info(name) else {
            throw SafeTensorsError(.missingTensor, file: url.path, tensor: name, "no such tensor in this file")
        }
        return info
    }
}
