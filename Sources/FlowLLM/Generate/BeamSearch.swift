import Foundation

/// Beam search over one prompt with the semantics of transformers' `generate(num_beams=K, do_sample=False)` (its
/// defaults `early_stopping=False` and `length_penalty` as given):
///
/// - each step scores every continuation of every running beam by its summed log-probability, keeps the best
///   `max(2, 1 + number of end tokens) · K` of them, and continues the best K that did not just end;
/// - a continuation among the best K that ends (an end token, a stop sequence, or `maxTokens`) becomes a finished
///   hypothesis scored sum(log p) / length^lengthPenalty (its length counts the end token); the K best are kept;
/// - the search stops once K hypotheses are finished and the best running beam, normalised by the current length,
///   can no longer beat the worst of them, or when every kept continuation ended. (Where fewer than K of the kept
///   continuations go on, ended ones run on with their score lowered by 1e9, as in transformers.)
///
/// Stop sequences (`options.stop`) end a beam whose generated text contains one, and are cut from the result's
/// text; transformers matches its `stop_strings` on the token sequence instead, so results with stop sequences
/// may differ from its.
///
/// The running beams advance together in one `GenerationBatch` pass per step, each with its own key/value cache;
/// a beam that forks copies its parent's cache.
struct BeamSearch {
    let generator: TextGenerator
    let promptIDs: [Int32]
    let options: GenerationOptions

    private struct Beam {
        var tokens: [Int32]
        var score: Float
        var session: GenerationSession
    }

    private struct Finished {
        var tokens: [Int32]
        var score: Float
        var reason: GenerationFinishReason
    }

    /// A candidate continuation: beam `beam` extended by `token`, with the summed log-probability `score`.
    private struct Candidate {
        var beam: Int
        var token: Int32
        var score: Float
    }

    /// The search's result; the clock for time-to-first-token starts at `startedAt` (uptime nanoseconds).
    func run(startedAt: UInt64) throws -> Generation {
        let model = generator.model, vocab = model.config.vocabSize, k = options.numBeams
        try GenerationStream.check(promptIDs: promptIDs, options: options, vocabSize: vocab)
        let capacity = promptIDs.count + options.maxTokens
        var endIDs: [Int32] = []
        for id in generator.eosTokenIDs + options.stopTokenIDs where !endIDs.contains(id) { endIDs.append(id) }
        let keep = min(max(2, 1 + endIDs.count) * k, k * vocab)
        guard options.maxTokens > 0 else {
            return generation(Finished(tokens: [], score: 0, reason: .length), startedAt: startedAt,
                              firstStepAt: startedAt, endedAt: DispatchTime.now().uptimeNanoseconds)
        }

        let first = GenerationSession(model: model, capacity: capacity)
        try first.append(promptIDs)
        // As transformers does, K copies of the prompt start the search, all but the first scored -1e9 so that the
        // first step's continuations come from one of them; they share the first one's logits.
        var beams = [Beam(tokens: [], score: 0, session: first)]
        for _ in 1..<k { beams.append(Beam(tokens: [], score: -1e9, session: first)) }
        var spare: [GenerationSession] = []  // sessions of beams no longer running, reused for forks
        var finished: [Finished] = []
        let logProbs = UnsafeMutablePointer<Float>.allocate(capacity: k * vocab)
        defer { logProbs.deallocate() }
        let batch = GenerationBatch(model: model)
        var generated = 0
        var firstStepAt = startedAt

        while true {
            // a. log-softmax of each running beam's next-token logits, plus the beam's score
            for (b, beam) in beams.enumerated() {
                let logits = beam.session.logits.data, row = logProbs + b * vocab
                let top = VectorMath.max(logits, count: vocab)
                let logSum = Foundation.log(VectorMath.sumExp(logits, count: vocab, subtracting: top))
                for t in 0..<vocab { row[t] = (logits[t] - top - logSum) + beam.score }
            }
            // b. the best `keep` continuations over all beams, best first (ties: the lower beam, then token id)
            let top = Self.best(keep, of: logProbs, count: k * vocab).map {
                Candidate(beam: $0.index / vocab, token: Int32($0.index % vocab), score: $0.value)
            }
            // c. which of them end the sequence, and why
            let reasons: [GenerationFinishReason?] = top.map { candidate in
                if endIDs.contains(candidate.token) { return .eos }
                if !options.stop.isEmpty {
                    let text = generator.tokenizer.decode(beams[candidate.beam].tokens + [candidate.token], skipSpecialTokens: true)
                    if options.stop.contains(where: { text.contains($0) }) { return .stop }
                }
                return generated + 1 == options.maxTokens ? .length : nil
            }
            // d. the K best that go on: those that did not end keep their score, the others drop by 1e9
            let continuing = Array(top.indices
                .map { (rank: $0, score: reasons[$0] == nil ? top[$0].score : top[$0].score + -1e9) }
                .sorted { $0.score != $1.score ? $0.score > $1.score : $0.rank < $1.rank }
                .prefix(k))
            // e. the ended ones among the best K become finished hypotheses; the K best finished are kept
            let norm = Float(pow(Double(generated + 1), Double(options.lengthPenalty)))
            for rank in 0..<min(k, top.count) {
                guard let reason = reasons[rank] else { continue }
                let candidate = top[rank]
                finished.append(Finished(tokens: beams[candidate.beam].tokens + [candidate.token],
                                         score: candidate.score / norm, reason: reason))
            }
            finished = Array(finished.enumerated()
                .sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
                .prefix(k).map(\.element))
            if generated == 0 { firstStepAt = DispatchTime.now().uptimeNanoseconds }
            generated += 1

            // f. go on while every continuation has not ended and a running beam can still beat a finished one
            let bestRunning = continuing.first?.score ?? -.infinity
            let improvable = finished.count < k
                || bestRunning / Float(pow(Double(generated), Double(options.lengthPenalty))) > finished.map(\.score).min()!
            if reasons.allSatisfy({ $0 != nil }) || !improvable { break }

            // g. the next running beams, each with a cache holding its tokens. The first child of a beam takes over
            // its parent's session; later children copy it (before the parent's session moves on) into a session
            // freed by a beam without children. (At the first step every beam shares the prompt's session.)
            let parents = Set(continuing.map { ObjectIdentifier(beams[top[$0.rank].beam].session) })
            var seen = Set<ObjectIdentifier>()
            for beam in beams where seen.insert(ObjectIdentifier(beam.session)).inserted
                && !parents.contains(ObjectIdentifier(beam.session)) {
                spare.append(beam.session)
            }
            var taken = Set<ObjectIdentifier>()
            var next: [Beam] = []
            for c in continuing {
                let candidate = top[c.rank], parent = beams[candidate.beam].session
                let session: GenerationSession
                if taken.insert(ObjectIdentifier(parent)).inserted {
                    session = parent
                } else {
                    session = spare.popLast() ?? GenerationSession(model: model, capacity: capacity)
                    session.copyCache(from: parent)
                }
                next.append(Beam(tokens: beams[candidate.beam].tokens + [candidate.token], score: c.score, session: session))
            }
            try batch.append(next.map { GenerationSegment(session: $0.session, tokens: [$0.tokens.last!][...]) })
            beams = next
        }
        let best = finished.first ?? Finished(tokens: beams[0].tokens, score: beams[0].score, reason: .length)
        return generation(best, startedAt: startedAt, firstStepAt: firstStepAt, endedAt: DispatchTime.now().uptimeNanoseconds)
    }

    /// The result for the chosen hypothesis: its text without the end token, cut before a stop sequence.
    private func generation(_ best: Finished, startedAt: UInt64, firstStepAt: UInt64, endedAt: UInt64) -> Generation {
        let textIDs = best.reason == .eos ? Array(best.tokens.dropLast()) : best.tokens
        var text = generator.tokenizer.decode(textIDs, skipSpecialTokens: true)
        if best.reason == .stop {
            let cuts = options.stop.compactMap { text.range(of: $0)?.lowerBound }
            if let cut = cuts.min() { text = String(text[..<cut]) }
        }
        let decodeSeconds = best.tokens.count > 1 ? Double(endedAt - firstStepAt) / 1e9 : 0
        return Generation(
            text: text, tokenIDs: best.tokens, finishReason: best.reason, promptTokens: promptIDs.count,
            completionTokens: best.tokens.count,
            timings: GenerationTimings(
                timeToFirstToken: best.tokens.isEmpty ? 0 : Double(firstStepAt - startedAt) / 1e9, decodeSeconds: decodeSeconds,
                decodeTokensPerSecond: best.tokens.count > 1 && decodeSeconds > 0 ? Double(best.tokens.count - 1) / decodeSeconds : 0))
    }

    /// The `n` largest of `values[0..<count]` with their indices, largest first; equal values in index order.
    static func best(_ n: Int, of values: UnsafePointer<Float>, count: Int) -> [(index: Int, value: Float)] {
        var kept: [(index: Int, value: Float)] = []
        kept.reserveCapacity(n + 1)
        for i in 0..<count {
            let v = values[i]
            if kept.count == n {
                guard v > kept[n - 1].value else { continue }
            }
            // insert after every kept value ≥ v, so equal values stay in index order
            var at = kept.count
            while at > 0 && kept[at - 1].value < v { at -= 1 }
            kept.insert((i, v), at: at)
            if kept.count > n { kept.removeLast() }
        }
        return kept
    }
}
