import Foundation
import Testing
@testable import FlowLLM

/// The reference fixtures written by `scripts/fixtures/numerics.py` (torch + transformers + peft).
enum LlamaFixtures {
    static var directory: URL {
        get throws {
            try #require(Bundle.module.url(forResource: "numerics", withExtension: nil, subdirectory: "Fixtures"))
        }
    }

    static func url(_ name: String) throws -> URL { try directory.appendingPathComponent(name) }

    static func file(_ name: String) throws -> SafeTensorsFile { try SafeTensorsFile(url: url(name)) }

    /// The tiny untied model (vocab 64, hidden 32, 2 layers, 4 heads, 2 KV heads).
    static func tinyWeights() throws -> LlamaWeights { try LlamaModel.loadWeights(from: url("tiny-llama")) }

    struct BatchJSON: Decodable {
        var rows: Int
        var length: Int
        var tokens: [[Int32]]
        var labels: [[Int32]]
        var sequence_ids: [[Int32]]
        var positions: [[Int32]]
        var samples: [String: [Int]]
    }

    static func batchJSON() throws -> BatchJSON {
        try JSONDecoder().decode(BatchJSON.self, from: Data(contentsOf: url("batch.json")))
    }

    /// The packed batch: row 0 = samples A + B, row 1 = sample C + padding.
    static func packedBatch() throws -> LlamaBatch {
        let b = try batchJSON()
        return try LlamaBatch(rows: b.rows, length: b.length, tokens: b.tokens.flatMap { $0 }, labels: b.labels.flatMap { $0 },
                              sequenceIDs: b.sequence_ids.flatMap { $0 }, positions: b.positions.flatMap { $0 })
    }

    /// The flattened token ranges of samples A, B and C in the packed batch (padding excluded).
    static func sampleRanges() throws -> [Range<Int>] {
        let s = try batchJSON().samples
        return try ["A", "B", "C"].map { key in
            let r = try #require(s[key])
            return r[0]..<r[1]
        }
    }
}

/// max |actual − expected| / max |expected|: a relative error that small reference entries cannot blow up.
func relativeError(_ actual: UnsafeBufferPointer<Float>, _ expected: UnsafeBufferPointer<Float>) -> Float {
    precondition(actual.count == expected.count, "compared \(actual.count) with \(expected.count) values")
    var maxDiff: Float = 0, maxRef: Float = 0
    for i in 0..<actual.count {
        maxDiff = max(maxDiff, abs(actual[i] - expected[i]))
        maxRef = max(maxRef, abs(expected[i]))
    }
    return maxRef > 0 ? maxDiff / maxRef : maxDiff
}

func relativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    relativeError(UnsafeBufferPointer(actual.buffer), UnsafeBufferPointer(expected.buffer))
}

func relativeError(_ actual: [Float], _ expected: [Float]) -> Float {
    actual.withUnsafeBufferPointer { a in expected.withUnsafeBufferPointer { e in relativeError(a, e) } }
}

/// A scratch directory removed when the test's closure returns.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("flow-numerics-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}
