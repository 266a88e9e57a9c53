import Foundation

/// Where one tensor lives in a safetensors file and what it holds.
public struct SafeTensorsTensorInfo: Sendable, Equatable {
    /// The tensor's name, e.g. `model.layers.0.self_attn.q_proj.weight`.
    public let name: String
    /// The element type.
    public let dtype: SafeTensorsDType
    /// The dimensions, outermost first.
    public let shape: [Int]
    /// Byte range relative to the start of the data section, end exclusive.
    public let dataOffsets: Range<Int>

    /// The number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A parsed and validated safetensors header: the layout checks every reader relies on happen here.
struct SafeTensorsHeader {
    /// The largest header accepted, as in the reference implementation (guards against memory bombs).
    static let maximumHeaderBytes = 100_000_000

    /// Tensors in data order.
    var tensors: [SafeTensorsTensorInfo]
    var metadata: [String: String]
    /// Offset of the data section from the start of the file.
    var dataStart: Int

    /// Parses the header at the start of `bytes` (the whole file) and checks that the tensors tile the
    /// data section exactly: contiguous, in range, no overlaps or holes, byte counts matching shape × dtype.
    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> SafeTensorsHeader {
        guard bytes.count >= 8 else {
            throw SafeTensorsError(.truncated, file: file,
                                   "file is \(bytes.count) bytes, shorter than the 8-byte header length; is it a safetensors file?")
        }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard declared <= UInt64(maximumHeaderBytes) else {
            throw SafeTensorsError(.headerTooLarge, file: file,
                                   "header length \(declared) exceeds the \(maximumHeaderBytes)-byte limit; the file is corrupt or not safetensors")
        }
        let headerLength = Int(declared)
        guard 8 + headerLength <= bytes.count else {
            throw SafeTensorsError(.truncated, file: file,
                                   "header length \(headerLength) runs past the end of the \(bytes.count)-byte file; the file is truncated")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerLength)])
        guard let text = String(validating: headerBytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw SafeTensorsError(.invalidHeader, file: file, "header is not valid UTF-8")
        }
        guard text.first == "{" else {
            throw SafeTensorsError(.invalidHeader, file: file, "header does not start with '{'")
        }
        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: Data(text.utf8))
        } catch let error as SafeTensorsError {
            throw SafeTensorsError(error.kind, file: file, tensor: error.tensor, error.message)
        } catch {
            throw SafeTensorsError(.invalidHeader, file: file, "header is not valid safetensors JSON: \(error)")
        }
        let dataLength = bytes.count - 8 - headerLength
        let tensors = try validate(raw.tensors, dataLength: dataLength, file: file)
        return SafeTensorsHeader(tensors: tensors, metadata: raw.metadata, dataStart: 8 + headerLength)
    }

    private static func validate(_ tensors: [SafeTensorsTensorInfo], dataLength: Int, file: String) throws
        -> [SafeTensorsTensorInfo]
    {
        let ordered = tensors.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name)
                < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name)
        }
        var expectedStart = 0
        for info in ordered {
            var elements = 1
            for dimension in info.shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow else {
                    throw SafeTensorsError(.invalidTensor, file: file, tensor: info.name, "shape \(info.shape) overflows")
                }
                elements = product
            }
            let (byteCount, overflow) = elements.multipliedReportingOverflow(by: info.dtype.byteSize)
            guard !overflow, byteCount == info.dataOffsets.count else {
                throw SafeTensorsError(.invalidTensor, file: file, tensor: info.name,
                    "data_offsets span \(info.dataOffsets.count) bytes but shape \(info.shape) of \(info.dtype.rawValue) needs \(overflow ? "more than Int.max" : String(byteCount))")
            }
            guard info.dataOffsets.lowerBound == expectedStart else {
                let problem = info.dataOffsets.lowerBound < expectedStart ? "overlaps the previous tensor" : "leaves a hole after the previous tensor"
                throw SafeTensorsError(.invalidTensor, file: file, tensor: info.name,
                    "data_offsets \(info.dataOffsets.lowerBound)..<\(info.dataOffsets.upperBound) \(problem) (expected to start at \(expectedStart))")
            }
            guard info.dataOffsets.upperBound <= dataLength else {
                throw SafeTensorsError(.truncated, file: file, tensor: info.name,
                    "data_offsets end \(info.dataOffsets.upperBound) past the \(dataLength)-byte data section; the file is truncated")
            }
            expectedStart = info.dataOffsets.upperBound
        }
        guard expectedStart == dataLength else {
            throw SafeTensorsError(.invalidHeader, file: file,
                "tensors cover \(expectedStart) bytes but the data section holds \(dataLength); the file has trailing bytes or a corrupt header")
        }
        return ordered
    }
}

/// The header JSON as written: tensor entries plus an optional `__metadata__` string map.
private struct RawHeader: Decodable {
    var tensors: [SafeTensorsTensorInfo] = []
    var metadata: [String: String] = [:]

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct Entry: Decodable {
        var dtype: String
        var shape: [Int]
        var data_offsets: [Int]
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                do {
                    metadata = try container.decode([String: String].self, forKey: key)
                } catch {
                    throw SafeTensorsError(.invalidHeader, file: "", "__metadata__ must map strings to strings")
                }
                continue
            }
            let name = key.stringValue
            let entry: Entry
            do {
                entry = try container.decode(Entry.self, forKey: key)
            } catch {
                throw SafeTensorsError(.invalidHeader, file: "", tensor: name,
                                       "entry needs \"dtype\" (string), \"shape\" and \"data_offsets\" (non-negative integers)")
            }
            guard let dtype = SafeTensorsDType(rawValue: entry.dtype) else {
                throw SafeTensorsError(.unsupportedDType, file: "", tensor: name,
                                       "unknown dtype \"\(entry.dtype)\"; expected one of \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard entry.shape.allSatisfy({ $0 >= 0 }) else {
                throw SafeTensorsError(.invalidTensor, file: "", tensor: name, "shape \(entry.shape) has a negative dimension")
            }
            guard entry.data_offsets.count == 2, entry.data_offsets[0] >= 0, entry.data_offsets[0] <= entry.data_offsets[1] else {
                throw SafeTensorsError(.invalidTensor, file: "", tensor: name,
                                       "data_offsets \(entry.data_offsets) must be [begin, end] with 0 ≤ begin ≤ end")
            }
            tensors.append(SafeTensorsTensorInfo(name: name, dtype: dtype, shape: entry.shape,
                                                 dataOffsets: entry.data_offsets[0]..<entry.data_offsets[1]))
        }
    }
}
