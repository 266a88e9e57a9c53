import Foundation
import Testing
@testable import FlowLLM

/// Corrupt or hostile files are refused with an error naming the file (and the tensor), never a crash.
@Suite struct SafeTensorsHostileFileTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var header: [UInt8]
        var data: [UInt8] = []
        var declaredLength: UInt64?
        var kind: SafeTensorsError.Kind
        var tensor: String?
        var testDescription: String { label }
    }

    static func json(_ text: String) -> [UInt8] { Array(text.utf8) }

    static let cases: [Case] = [
        Case(label: "header length past the end", header: json("{}"), declaredLength: 1000, kind: .truncated),
        Case(label: "header over 100,000,000 bytes", header: json("{}"), declaredLength: 200_000_000, kind: .headerTooLarge),
        Case(label: "header length near UInt64.max", header: json("{}"), declaredLength: UInt64.max - 3, kind: .headerTooLarge),
        Case(label: "non-UTF-8 header", header: [0x7B, 0xFF, 0xFE, 0x7D], kind: .invalidHeader),
        Case(label: "invalid JSON", header: json(#"{"a": {"dtype": "F32""#), kind: .invalidHeader),
        Case(label: "not an object", header: json("[1, 2]"), kind: .invalidHeader),
        Case(label: "entry missing fields", header: json(#"{"a":{"dtype":"F32"}}"#), kind: .invalidHeader, tensor: "a"),
        Case(label: "metadata not a string map", header: json(#"{"__metadata__":{"n":1}}"#), kind: .invalidHeader),
        Case(label: "unknown dtype", header: json(#"{"w":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}}"#),
             data: [0, 0, 0, 0], kind: .unsupportedDType, tensor: "w"),
        Case(label: "overlapping offsets",
             header: json(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#),
             data: Array(repeating: 0, count: 12), kind: .invalidTensor, tensor: "b"),
        Case(label: "hole between tensors",
             header: json(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#),
             data: Array(repeating: 0, count: 12), kind: .invalidTensor, tensor: "b"),
        Case(label: "offsets past the data", header: json(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#),
             data: Array(repeating: 0, count: 8), kind: .truncated, tensor: "a"),
        Case(label: "byte count not matching shape", header: json(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#),
             data: Array(repeating: 0, count: 8), kind: .invalidTensor, tensor: "a"),
        Case(label: "shape overflowing Int", header: json(#"{"a":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}}"#),
             data: Array(repeating: 0, count: 8), kind: .invalidTensor, tensor: "a"),
        Case(label: "negative offsets", header: json(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#),
             kind: .invalidTensor, tensor: "a"),
        Case(label: "reversed offsets", header: json(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#),
             data: Array(repeating: 0, count: 4), kind: .invalidTensor, tensor: "a"),
        Case(label: "trailing bytes after the last tensor", header: json(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#),
             data: Array(repeating: 0, count: 9), kind: .invalidHeader),
    ]

    @Test(arguments: cases)
    func refuses(_ c: Case) throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("hostile.safetensors")
            var bytes = withUnsafeBytes(of: (c.declaredLength ?? UInt64(c.header.count)).littleEndian) { Array($0) }
            bytes += c.header + c.data
            try Data(bytes).write(to: url)
            let error = try #require(throws: SafeTensorsError.self) { try SafeTensorsFile(url: url) }
            #expect(error.kind == c.kind, "\(error)")
            #expect(error.file == url.path)
            #expect(error.tensor == c.tensor, "\(error)")
            #expect(error.description.contains("hostile.safetensors"))
        }
    }

    @Test func refusesAFileShorterThanTheLengthPrefix() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("short.safetensors")
            try Data([1, 2, 3]).write(to: url)
            let error = try #require(throws: SafeTensorsError.self) { try SafeTensorsFile(url: url) }
            #expect(error.kind == .truncated)
        }
    }

    @Test func refusesAMissingFile() throws {
        let error = try #require(throws: SafeTensorsError.self) {
            try SafeTensorsFile(url: URL(fileURLWithPath: "/nonexistent/model.safetensors"))
        }
        #expect(error.kind == .io)
        #expect(error.description.contains("/nonexistent/model.safetensors"))
    }

    @Test func refusesADirectory() throws {
        try withTemporaryDirectory { dir in
            let error = try #require(throws: SafeTensorsError.self) { try SafeTensorsFile(url: dir) }
            #expect(error.kind == .io && error.message.contains("not a regular file"))
        }
    }

    @Test func acceptsSpacePaddedHeadersAndEmptyTensors() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("ok.safetensors")
            let header = Self.json(#"{"e":{"dtype":"BF16","shape":[0,3],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}     "#)
            var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) }
            bytes += header + withUnsafeBytes(of: Float(2.5).bitPattern.littleEndian) { Array($0) }
            try Data(bytes).write(to: url)
            let file = try SafeTensorsFile(url: url)
            #expect(try file.tensor("a").values == [2.5])
            #expect(try file.tensor("e").count == 0)
        }
    }
}
