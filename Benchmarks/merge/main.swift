// The flow side of the merge benchmark: LoRAMerge on a base checkpoint and a PEFT adapter.
// Built against the release FlowRuntime library by Benchmarks/merge/run.sh.
import FlowKit
import FlowLLM
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: merge-bench BASE ADAPTER OUTPUT\n".utf8))
    exit(2)
}
let start = Date()
do {
    let merge = LoRAMerge(base: URL(fileURLWithPath: arguments[1]), adapter: URL(fileURLWithPath: arguments[2]))
    let summary = try merge.run(into: URL(fileURLWithPath: arguments[3]), log: StepLog())
    print("threads \(merge.threads.count); \(summary)")
    print(String(format: "flow merge: %.2f s", Date().timeIntervalSince(start)))
    // Where the resident memory is at the end: anonymous (heap, stacks, BLAS buffers) or file-backed (mappings).
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    print(status.split(separator: "\n").filter { $0.hasPrefix("VmHWM") || $0.hasPrefix("Rss") }.joined(separator: "; "))
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
