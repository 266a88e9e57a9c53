extension Tokenizer {
    /// A copy with `tokens` added after the current vocabulary, as `add_tokens` (or `add_special_tokens` when
    /// `special`) does: a token already in the vocabulary keeps its id, a new one gets the next free id.
    ///
    /// Tokens are added unnormalized and without stripping, as Axolotl adds its config's `tokens:`.
    public func addingTokens(_ tokens: [String], special: Bool) -> Tokenizer {
        var state = self.state
        state.addTokens(tokens, special: special)
        state.recordChange("add\(special ? " special" : "")", tokens)
        return Tokenizer(state: state)
    }

    /// A copy whose BOS/EOS/PAD/UNK tokens are set (nil keeps the current one), each added as a special token first,
    /// as Axolotl's `special_tokens:` does (in the order bos, eos, pad, unk).
    public func withSpecialTokens(bos: String?, eos: String?, pad: String?, unk: String?) -> Tokenizer {
        var state = self.state
        let given = [bos, eos, pad, unk]
        for token in given.compactMap({ $0 }) { state.addTokens([token], special: true) }
        if let bos { state.specialTokens.bos = bos }
        if let eos { state.specialTokens.eos = eos }
        if let pad { state.specialTokens.pad = pad }
        if let unk { state.specialTokens.unk = unk }
        state.recordChange("special tokens", given.map { $0 ?? "\u{0}" })
        return Tokenizer(state: state)
    }
}

extension TokenizerState {
    /// `AddedVocabulary::add_tokens` of `tokenizers`: re-adding a token with other flags replaces its flags (a
    /// special token stays special).
    mutating func addTokens(_ contents: [String], special: Bool) {
        for content in contents where !content.isEmpty {
            var token = TokenizerAddedToken(id: 0, content: content, special: special, normalized: false)
            if let id = added.id(forContent: content), let existing = added.token(withID: id) {
                token.id = id
                token.special = existing.special || special
                if token != existing { added.insert(token) }
                continue
            }
            token.id = model.id(forToken: content) ?? nextAddedID()
            added.insert(token)
        }
        added.refreshMatchers(normalizer: normalizer)
    }

    /// The id a brand-new token gets: after the model's vocabulary, or after the highest added id beyond it.
    private func nextAddedID() -> Int32 {
        let modelSize = Int32(model.vocabCount)
        guard let maxAdded = added.tokens.map(\.id).max() else { return modelSize }
        return maxAdded >= modelSize || modelSize == 0 ? maxAdded + 1 : modelSize
    }

    /// Folds a change into the content digest so that cache keys see it.
    mutating func recordChange(_ kind: String, _ values: [String]) {
        var digest = TokenizerDigest()
        digest.updateField(Array(contentDigest.utf8))
        digest.updateField(Array(kind.utf8))
        for value in values { digest.updateField(Array(value.utf8)) }
        contentDigest = digest.hexDigest()
    }
}
