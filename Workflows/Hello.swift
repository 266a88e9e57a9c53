// A small workflow that shows the DSL: parameters, a fan-out loop, command and Swift steps, attributes.
// Run it with `flow run --workflow hello`; see the README for writing your own.
import FlowKit
import Foundation

let hello = Workflow("hello") {
    Param("greeting", default: "hello", help: "what every shard says")
    Param("shards", default: "3", help: "informational: the loop below is fixed at build time")

    Command("corpus", "printf 'the quick brown fox\\njumps over the lazy dog\\n' > {output/text}/corpus.txt")

    for i in 0..<3 {
        Command("count-\(i)", "wc -w < {corpus/text}/corpus.txt > {output/count}/n && echo {greeting} from shard \(i)")
            .timeout(.minutes(1))
    }

    Function("summarize") { ctx in
        var total = 0
        for i in 0..<3 {
            let file = try ctx.input("count-\(i)/count").appendingPathComponent("n")
            total += Int(try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        ctx.log.info("\(ctx.greeting): \(total) words counted across shards")
        ctx.progress.record(["words": Double(total)])
        try "\(total)\n".write(to: try ctx.output("summary").appendingPathComponent("total.txt"), atomically: true, encoding: .utf8)
    }
    .needs("count-0", "count-1", "count-2")
    .retries(1)
}.preprocessing("corpus")
