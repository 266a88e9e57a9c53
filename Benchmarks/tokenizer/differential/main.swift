// Differential check against Python `tokenizers`: encodes and decodes every string of a JSON array with each given
// tokenizer directory and prints {"ids": {dir: [[id]]}, "decoded": {dir: [text]}} for compare.py. Built by run.sh
// together with Sources/FlowLLM/Tokenizer/*.swift.
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: tokenizer-differential <strings.json> <tokenizer dir>...\n".utf8))
    exit(2)
}
let strings = try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: arguments[1])))
struct Results: Encodable {
    var ids: [String: [[Int32]]] = [:]
    var decoded: [String: [String]] = [:]
}
var results = Results()
for directory in arguments.dropFirst(2) {
    let tokenizer = try Tokenizer(directory: URL(fileURLWithPath: directory))
    let ids = strings.map { tokenizer.encode($0) }
    results.ids[directory] = ids
    results.decoded[directory] = ids.map { tokenizer.decode($0) }
}
FileHandle.standardOutput.write(try JSONEncoder().encode(results))
