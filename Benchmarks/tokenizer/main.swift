// Tokenizer benchmark: trains byte-level BPE tokenizers of 8,000 tokens on the shared data and times encoding of
// modal_docs.jsonl's text fields. Built by run.sh together with Sources/FlowLLM/Tokenizer/*.swift into one
// release executable (the tokenizer needs nothing but Foundation), so no Package.swift change is needed.
// Usage: tokenizer-bench <shared data dir> <output dir> <SentencePiece-style fixture dir>
import Foundation

func now() -> Double { Date().timeIntervalSinceReferenceDate }

func jsonLines(_ url: URL) throws -> [[String: Any]] {
    let text = try String(contentsOf: url, encoding: .utf8)
    return try text.split(separator: "\n").map {
        try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: tokenizer-bench <shared data dir> <output dir> <llama2 fixture dir>\n".utf8))
    exit(2)
}
let data = URL(fileURLWithPath: arguments[1])
let output = URL(fileURLWithPath: arguments[2])
let docs = try jsonLines(data.appendingPathComponent("modal_docs.jsonl")).compactMap { $0["text"] as? String }
let sql = try jsonLines(data.appendingPathComponent("sqlqa.jsonl")).map {
    "\($0["question"] as? String ?? "")\n\($0["context"] as? String ?? "")\n\($0["answer"] as? String ?? "")"
}
let corpus = docs + sql
let corpusBytes = corpus.reduce(0) { $0 + $1.utf8.count }
let docBytes = docs.reduce(0) { $0 + $1.utf8.count }
print(
    "corpus: \(corpus.count) texts, \(corpusBytes) bytes; encode set: modal_docs text fields, \(docs.count) texts, \(docBytes) bytes"
)

/// Times encoding of the encode set with the tokenizer in `directory` and writes its ids for the Python side.
func measureEncoding(_ name: String, _ directory: URL) throws {
    // Cold: a freshly loaded tokenizer (empty word cache), one pass. Warm: best of 5 further passes.
    let loadStart = now()
    let tokenizer = try Tokenizer(directory: directory)
    print("[\(name)] load tokenizer.json: \(String(format: "%.1f", (now() - loadStart) * 1000)) ms")
    var allIDs: [[Int32]] = []
    let coldStart = now()
    for text in docs { allIDs.append(tokenizer.encode(text)) }
    let cold = now() - coldStart
    var best = Double.infinity
    for _ in 0..<5 {
        let start = now()
        var count = 0
        for text in docs { count &+= tokenizer.encode(text).count }
        best = min(best, now() - start)
        precondition(count == allIDs.reduce(0) { $0 + $1.count })
    }
    let tokens = allIDs.reduce(0) { $0 + $1.count }
    let mb = Double(docBytes) / 1e6
    print(
        "[\(name)] encode: \(tokens) tokens; cold \(String(format: "%.2f", mb / cold)) MB/s, "
            + "warm \(String(format: "%.2f", mb / best)) MB/s (single thread)")
    let ids = try JSONSerialization.data(withJSONObject: allIDs.map { $0.map(Int.init) })
    try FileManager.default.createDirectory(at: output.appendingPathComponent(name), withIntermediateDirectories: true)
    try ids.write(to: output.appendingPathComponent(name).appendingPathComponent("ids.json"))
}

for style in [BPETrainer.PreTokenization.gpt2, .llama3] {
    let trainer = BPETrainer(
        vocabularySize: 8_000, minimumFrequency: 2, specialTokens: ["<|endoftext|>"],
        preTokenization: style)
    let trainStart = now()
    let trained = try trainer.train(texts: corpus)
    let trainSeconds = now() - trainStart
    let directory = output.appendingPathComponent(style.rawValue)
    try trained.write(to: directory)
    print("[\(style.rawValue)] train 8000 tokens on \(corpusBytes) bytes: \(String(format: "%.2f", trainSeconds)) s")
    try measureEncoding(style.rawValue, directory)
}
// The SentencePiece-style fixture (Llama-2 layout, byte fallback, 1,200 tokens): no pre-tokenizer, so each text is
// one word and the word cache does not help.
try measureEncoding("llama2-fixture", URL(fileURLWithPath: arguments[3]))
