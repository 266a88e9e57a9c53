import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("flow llm verbs") struct LLMVerbTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FlowLLMTests/Fixtures")
    static let sqlqa = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/sqlqa.jsonl")

    @Test func preprocessTrainMergeAndGenerateChainFromTheCommandLine() throws {
        let p = try TemporaryProject("llm-verbs")
        let fm = FileManager.default
        try fm.copyItem(at: Self.fixtures.appendingPathComponent("generate/model"), to: p.root.appendingPathComponent("base"))
        try fm.copyItem(at: Self.fixtures.appendingPathComponent("tokenizer/llama2"), to: p.root.appendingPathComponent("tok"))
        let rows = try String(contentsOf: Self.sqlqa, encoding: .utf8).split(separator: "\n").prefix(16)
        try p.write("data.jsonl", rows.joined(separator: "\n") + "\n")
        try p.write("config.yml", """
            base_model: base
            tokenizer_config: tok
            sequence_len: 256
            adapter: lora
            lora_r: 8
            lora_alpha: 16
            lora_target_linear: true
            datasets:
              - path: data.jsonl
                type:
                  field_instruction: question
                  field_input: context
                  field_output: answer
                  format: "[INST] {input} {instruction} [/INST]"
                  no_input_format: "[INST] {instruction} [/INST]"
            val_set_size: 2
            micro_batch_size: 2
            num_epochs: 4
            learning_rate: 0.01
            warmup_steps: 2
            logging_steps: 4
            seed: 7

            """)
        let tokenize = try p.flow("llm", "tokenize", "--tokenizer", "tok", "--json", "SELECT name")
        #expect(tokenize.status == 0)
        #expect(tokenize.stdout.contains("\"ids\":[1,"))

        #expect(try p.flow("llm", "preprocess", "--config", "config.yml", "--out", "prepared").status == 0)
        let train = try p.flow("llm", "train", "--config", "config.yml", "--data", "prepared", "--out", "adapter")
        #expect(train.status == 0, "\(train.stdout)\(train.stderr)")
        let state = try JSONSerialization.jsonObject(
            with: Data(contentsOf: p.root.appendingPathComponent("adapter/trainer_state.json"))) as? [String: Any]
        let losses = (state?["log_history"] as? [[String: Any]] ?? []).compactMap { $0["loss"] as? Double }
        #expect(losses.count >= 3)
        #expect((losses.last ?? 99) < (losses.first ?? 0), "the training loss did not fall: \(losses)")
        #expect(fm.fileExists(atPath: p.root.appendingPathComponent("adapter/adapter_model.safetensors").path))

        let merge = try p.flow("llm", "merge", "--base", "base", "--adapter", "adapter", "--out", "merged")
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(fm.fileExists(atPath: p.root.appendingPathComponent("merged/config.json").path))

        // The merged model and the base with the adapter applied on the fly generate the same greedy text.
        let merged = try p.flow("llm", "generate", "--model", "merged", "--tokenizer", "tok", "--prompt",
                                "[INST] CREATE TABLE head (age INTEGER) How many heads? [/INST]", "--max-tokens", "12", "--json")
        let onTheFly = try p.flow("llm", "generate", "--model", "base", "--adapter", "adapter", "--tokenizer", "tok",
                                  "--prompt", "[INST] CREATE TABLE head (age INTEGER) How many heads? [/INST]",
                                  "--max-tokens", "12", "--json")
        #expect(merged.status == 0 && onTheFly.status == 0, "\(merged.stderr)\(onTheFly.stderr)")
        #expect(merged.stdout == onTheFly.stdout)
        #expect(merged.stdout.contains("\"completionTokens\":"))

        let bad = try p.flow("llm", "merge", "--base", "base", "--adapter", "nowhere", "--out", "x")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("nowhere"))
    }
}
