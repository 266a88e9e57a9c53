import Foundation
import Testing
@testable import FlowLLM

/// The reference fixtures written by `scripts/fixtures/generate.py` (torch + transformers + peft): a tiny random
/// GQA Llama (`model/`), a LoRA adapter with non-zero B (`adapter/`) and transformers' outputs (`expected.json`).
enum GenerationFixtures {
    static var directory: URL {
        get throws {
            try #require(Bundle.module.url(forResource: "generate", withExtension: nil, subdirectory: "Fixtures"))
        }
    }

    /// The llama2-style tokenizer fixture the prompt was encoded with.
    static var tokenizerDirectory: URL {
        get throws {
            try #require(Bundle.module.url(forResource: "llama2", withExtension: nil, subdirectory: "Fixtures/tokenizer"))
        }
    }

    struct Expected: Decodable {
        var prompt: String
        var prompt_ids: [Int32]
        var base_greedy: [Int32]
        var base_last_logits: [Float]
        var eos_extra_id: Int32
        var eos_greedy: [Int32]
        var adapter_greedy: [Int32]
        var adapter_last_logits: [Float]
        var chat_messages: [[String: String]]
        var chat_prompts: [String: ChatPrompt]
    }

    /// A conversation rendered by an Axolotl template's Jinja source with `add_generation_prompt=True`.
    struct ChatPrompt: Decodable {
        var bos: String
        var eos: String
        var rendered: String
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
    }

    /// The generator over the base model, optionally with the adapter applied on the fly.
    static func generator(adapter: Bool = false, threads: Int = 1) throws -> TextGenerator {
        let dir = try directory
        return try TextGenerator(model: dir.appendingPathComponent("model"),
                                 adapter: adapter ? dir.appendingPathComponent("adapter") : nil,
                                 tokenizer: tokenizerDirectory, threads: ComputeThreads(count: threads))
    }
}
