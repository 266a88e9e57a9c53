import Foundation
import Testing
@testable import FlowLLM

/// Several sessions advanced in one pass (continuous batching) against each session run alone.
@Suite struct GenerationBatchTests {
    static let prompts: [[Int32]] = [[1, 17, 300, 42, 9, 811], [1, 5, 6, 7], [1, 1000, 2, 77, 512, 33, 64, 90, 12]]

    /// Each prompt prefilled alone, then `steps` greedy tokens decoded alone: the logits after every step.
    static func alone(_ model: GenerationModel, steps: Int) throws -> [[[Float]]] {
        try prompts.map { prompt in
            let session = GenerationSession(model: model, capacity: prompt.count + steps)
            try session.append(prompt)
            var logits = [session.logits.values]
            for _ in 0..<steps {
                try session.append(token: TokenSampler.argmax(session.logits.data, count: model.config.vocabSize))
                logits.append(session.logits.values)
            }
            return logits
        }
    }

    @Test(arguments: [(false, GenerationWeightPrecision.float32), (true, .float32), (false, .bfloat16)])
    func batchedPassesMatchSessionsRunAlone(adapter: Bool, precision: GenerationWeightPrecision) throws {
        let loaded = try GenerationFixtures.generator(adapter: adapter, threads: 2).model
        let model = try GenerationModel(weights: loaded.weights, adapter: loaded.adapter, threads: ComputeThreads(count: 2),
                                        precision: precision)
        let steps = 5
        let reference = try Self.alone(model, steps: steps)
        let sessions = Self.prompts.map { GenerationSession(model: model, capacity: $0.count + steps) }
        let batch = GenerationBatch(model: model)
        // the first prompt in one pass, the others in two chunks while the first already decodes
        try batch.append([GenerationSegment(session: sessions[0], tokens: Self.prompts[0][...]),
                          GenerationSegment(session: sessions[1], tokens: Self.prompts[1][..<2]),
                          GenerationSegment(session: sessions[2], tokens: Self.prompts[2][..<4])])
        var next = TokenSampler.argmax(sessions[0].logits.data, count: model.config.vocabSize)
        #expect(relativeError(sessions[0].logits.values, reference[0][0]) < 1e-5)
        try batch.append([GenerationSegment(session: sessions[0], tokens: [next]),
                          GenerationSegment(session: sessions[1], tokens: Self.prompts[1][2...]),
                          GenerationSegment(session: sessions[2], tokens: Self.prompts[2][4...])])
        var done = [1, 0, 0]
        for i in 0..<3 {
            #expect(relativeError(sessions[i].logits.values, reference[i][done[i]]) < 1e-5, "session \(i) after its prompt")
        }
        for _ in 0..<(steps - 1) {
            var segments: [GenerationSegment] = []
            for (i, session) in sessions.enumerated() {
                next = TokenSampler.argmax(session.logits.data, count: model.config.vocabSize)
                segments.append(GenerationSegment(session: session, tokens: [next]))
                done[i] += 1
            }
            try batch.append(segments)
            for i in 0..<3 {
                #expect(relativeError(sessions[i].logits.values, reference[i][done[i]]) < 1e-5, "session \(i) step \(done[i])")
            }
        }
        // the first session decoded one token more (it finished its prompt a pass earlier)
        #expect(sessions.map(\.count) == [Self.prompts[0].count + steps, Self.prompts[1].count + steps - 1,
                                            Self.prompts[2].count + steps - 1])
    }

    @Test func aCacheGrowingPastItsFirstRowsKeepsItsTokens() throws {
        let model = try GenerationFixtures.generator().model
        let tokens = (0..<(GenerationSession.initialRows + 44)).map { Int32(3 + ($0 * 37) % 1000) }
        let oneShot = GenerationSession(model: model, capacity: 1000)
        try oneShot.append(tokens)
        let stepwise = GenerationSession(model: model, capacity: 1000)
        for token in tokens { try stepwise.append(token: token) }  // doubles its cache at the 257th token
        #expect(stepwise.allocated == 2 * GenerationSession.initialRows)
        #expect(stepwise.count == tokens.count && oneShot.count == tokens.count)
        #expect(relativeError(stepwise.logits.values, oneShot.logits.values) < 1e-4)
    }

    @Test func aBatchRejectsASessionTwiceOrOfAnotherModel() throws {
        let model = try GenerationFixtures.generator().model
        let other = try GenerationFixtures.generator().model
        let session = GenerationSession(model: model, capacity: 8)
        let batch = GenerationBatch(model: model)
        #expect(throws: GenerationError.self) {
            try batch.append([GenerationSegment(session: session, tokens: [1]), GenerationSegment(session: session, tokens: [2])])
        }
        #expect(throws: GenerationError.self) {
            try batch.append([GenerationSegment(session: GenerationSession(model: other, capacity: 8), tokens: [1])])
        }
        #expect(throws: GenerationError.self) {
            try batch.append([GenerationSegment(session: session, tokens: Array(repeating: 1, count: 9)[...])])
        }
        #expect(session.count == 0)
    }
}

/// The scheduler runs concurrent requests to the same results as `TextGenerator` alone, and shuts down cleanly.
@Suite struct GenerationSchedulerTests {
    /// Every event of one request: the tokens, then the single final event.
    static func collect(_ events: AsyncStream<GenerationEvent>) async -> (tokens: [GeneratedToken], end: [GenerationEvent]) {
        var tokens: [GeneratedToken] = [], end: [GenerationEvent] = []
        for await event in events {
            if case .token(let token) = event { tokens.append(token) } else { end.append(event) }
        }
        return (tokens, end)
    }

    /// Waits for the first token of `events`, calls `interrupt`, and returns the generation the stream ends with.
    static func end(_ events: AsyncStream<GenerationEvent>, afterItsFirstToken interrupt: () -> Void) async throws -> Generation {
        var iterator = events.makeAsyncIterator()
        guard case .token = await iterator.next() else { throw GenerationError("no first token") }
        interrupt()
        var last: GenerationEvent?
        while let event = await iterator.next() { last = event }
        guard case .finished(let generation) = last else { throw GenerationError("the request did not finish: \(String(describing: last))") }
        return generation
    }

    @Test func concurrentRequestsGiveWhatEachGivesAlone() async throws {
        let generator = try GenerationFixtures.generator(threads: 2)
        let scheduler = GenerationScheduler(generator: generator, maxActive: 3, prefillChunk: 5)
        defer { scheduler.shutdown() }
        let prompts = ["The quick brown fox", "SELECT name FROM", "hello world, this is a longer prompt for chunks", "a", "Once upon"]
        let stops = [[], [], [], [], ["e"]]
        let results = try await withThrowingTaskGroup(of: (Int, [GeneratedToken], [GenerationEvent]).self) { group in
            for (i, prompt) in prompts.enumerated() {
                let ids = generator.tokenizer.encode(prompt)
                let events = try scheduler.submit(promptIDs: ids, options: GenerationOptions(maxTokens: 12 + i, stop: stops[i])).events
                group.addTask {
                    let (tokens, end) = await Self.collect(events)
                    return (i, tokens, end)
                }
            }
            var all: [Int: ([GeneratedToken], [GenerationEvent])] = [:]
            for try await (i, tokens, end) in group { all[i] = (tokens, end) }
            return all
        }
        for (i, prompt) in prompts.enumerated() {
            let alone = try generator.generate(prompt: prompt, options: GenerationOptions(maxTokens: 12 + i, stop: stops[i]))
            let (tokens, end) = try #require(results[i])
            #expect(end.count == 1)
            guard case .finished(let generation) = try #require(end.first) else {
                Issue.record("request \(i) did not finish: \(end)")
                continue
            }
            #expect(generation.tokenIDs == alone.tokenIDs, "request \(i)")
            #expect(generation.text == alone.text)
            #expect(generation.finishReason == alone.finishReason)
            #expect(tokens.map(\.text).joined() == generation.text)
            #expect(tokens.map(\.id) == generation.tokenIDs)
        }
        #expect(scheduler.load.waiting == 0)
    }

    @Test func shutdownCancelsRequestsInFlightAndRefusesNewOnes() async throws {
        let generator = try GenerationFixtures.generator()
        let scheduler = GenerationScheduler(generator: generator, maxActive: 1)
        let ids = generator.tokenizer.encode("The quick brown fox")
        // far more tokens than could be generated before shutdown: the first runs, the second waits
        let first = try scheduler.submit(promptIDs: ids, options: GenerationOptions(maxTokens: 100_000)).events
        let second = try scheduler.submit(promptIDs: ids, options: GenerationOptions(maxTokens: 100_000)).events
        let generation = try await Self.end(first, afterItsFirstToken: scheduler.shutdown)
        #expect(generation.finishReason == .cancelled)
        #expect(generation.completionTokens < 100_000)
        let (tokens, end) = await Self.collect(second)
        #expect(tokens.isEmpty)
        guard case .finished(let waited) = end.first else {
            Issue.record("the waiting request did not finish: \(end)")
            return
        }
        #expect(waited.finishReason == .cancelled && waited.completionTokens == 0)
        #expect(throws: GenerationError.self) { try scheduler.submit(promptIDs: ids, options: GenerationOptions()) }
    }

    @Test func cancelEndsOneRequestAndLeavesTheOthers() async throws {
        let generator = try GenerationFixtures.generator()
        let scheduler = GenerationScheduler(generator: generator)
        defer { scheduler.shutdown() }
        let ids = generator.tokenizer.encode("The quick brown fox")
        let long = try scheduler.submit(promptIDs: ids, options: GenerationOptions(maxTokens: 100_000))
        let short = try scheduler.submit(promptIDs: ids, options: GenerationOptions(maxTokens: 40))
        let cancelled = try await Self.end(long.events, afterItsFirstToken: long.cancel)
        #expect(cancelled.finishReason == .cancelled && cancelled.completionTokens < 100_000)
        let (_, end) = await Self.collect(short.events)
        guard case .finished(let other) = end.first else {
            Issue.record("the other request did not finish: \(end)")
            return
        }
        #expect(other.finishReason == .length && other.completionTokens == 40)
    }

    @Test func invalidRequestsAreRefusedAtSubmission() throws {
        let generator = try GenerationFixtures.generator()
        let scheduler = GenerationScheduler(generator: generator)
        defer { scheduler.shutdown() }
        #expect(throws: GenerationError.self) { try scheduler.submit(promptIDs: [], options: GenerationOptions()) }
        #expect(throws: GenerationError.self) { try scheduler.submit(promptIDs: [1, 99_999], options: GenerationOptions()) }
        #expect(throws: GenerationError.self) { try scheduler.submit(promptIDs: [1], options: GenerationOptions(temperature: -1)) }
        let beams = #expect(throws: GenerationError.self) { try scheduler.submit(promptIDs: [1], options: GenerationOptions(numBeams: 2)) }
        #expect(beams.map { "\($0)" }?.contains("TextGenerator.generate") == true)
    }
}
