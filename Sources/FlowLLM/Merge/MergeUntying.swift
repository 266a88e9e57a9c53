import Foundation

/// How a merge unties a tied LM head. With `tie_word_embeddings` the base's `lm_head` reads the embedding table;
/// an adapter with `modules_to_save` trains separate copies of the two (PEFT wraps each module on its own), so the
/// merged model needs both: `lm_head.weight` is written after the embedding table in its shard (the adapter's
/// `lm_head` copy, or the base table when only the embedding was trained) and `config.json` says
/// `tie_word_embeddings: false`. Otherwise transformers would tie the head back to the merged embedding.
struct MergeUntying {
    static let embedName = LoRASavedModule.embedTokens.baseName, headName = LoRASavedModule.lmHead.baseName

    /// The shard holding the embedding table; it receives `lm_head.weight` when the base does not store one.
    let shard: String
    /// The tensor appended to `shard`; nil when the checkpoint already stores `lm_head.weight`.
    let appended: MergedShardWriter.AppendedTensor?
    /// Its size in the base's dtype.
    let appendedBytes: Int

    /// The untying a merge of `adapter` into `checkpoint` needs; nil when the base is untied or the adapter saves
    /// no modules.
    static func plan(configURL: URL, checkpoint: ShardedSafeTensors, adapter: PEFTAdapterPairs) throws -> MergeUntying? {
        guard !adapter.replacements.isEmpty, try isTied(configURL) else { return nil }
        guard let embed = checkpoint.info(embedName), let shard = checkpoint.files.first(where: { $0.info(embedName) != nil }) else {
            throw LoRAMergeError(.wrongModel, file: configURL.path, "ties lm_head to \(embedName), which the checkpoint does not have")
        }
        guard checkpoint.info(headName) == nil else {
            return MergeUntying(shard: shard.url.lastPathComponent, appended: nil, appendedBytes: 0)
        }
        let source: MergedShardWriter.AppendedTensor.Source = adapter.replacements[headName].map { .adapter($0) } ?? .base(embedName)
        return MergeUntying(shard: shard.url.lastPathComponent,
                            appended: .init(name: headName, like: embedName, source: source),
                            appendedBytes: embed.dataOffsets.count)
    }

    private static func isTied(_ configURL: URL) throws -> Bool {
        guard let data = FileManager.default.contents(atPath: configURL.path),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else {
            throw LoRAMergeError(.io, file: configURL.path, "cannot read config.json as a JSON object")
        }
        return (object["tie_word_embeddings"] as? Bool) ?? false  // transformers' LlamaConfig default
    }

    /// Writes `source` (the base's config.json) to `destination` with `tie_word_embeddings: false`.
    func writeConfig(from source: URL, to destination: URL) throws {
        guard let data = FileManager.default.contents(atPath: source.path),
              var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else {
            throw LoRAMergeError(.io, file: source.path, "cannot read config.json as a JSON object")
        }
        object["tie_word_embeddings"] = false
        try MergeOutputFile.writeJSON(object, to: destination, source: source)
    }
}
