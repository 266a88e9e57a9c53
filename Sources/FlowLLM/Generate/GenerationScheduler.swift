import Foundation

/// A request handed to a `GenerationScheduler`: its events, and a way to end it early.
public struct ScheduledGeneration: Sendable {
    /// The tokens as they are sampled, then one `finished` or `failed`.
    public let events: AsyncStream<GenerationEvent>
    private let cancelling: @Sendable () -> Void

    init(events: AsyncStream<GenerationEvent>, cancel: @escaping @Sendable () -> Void) {
        self.events = events
        cancelling = cancel
    }

    /// Ends the generation at the scheduler's next pass (it finishes as `.cancelled`); nothing once it has ended.
    public func cancel() { cancelling() }
}

/// What a scheduled generation reports, in order: its tokens as they are sampled, then exactly one of
/// `finished` or `failed`.
public enum GenerationEvent: Sendable {
    /// A sampled token and the text it releases.
    case token(GeneratedToken)
    /// The generation ended (EOS, stop sequence, max tokens, or cancelled).
    case finished(Generation)
    /// The model could not run the request.
    case failed(GenerationError)
}

/// Runs any number of generations over one `TextGenerator`, fairly, on a thread of its own (never on Swift's
/// cooperative pool): requests are admitted first come, first served, up to `maxActive` at once, and every pass
/// of the model advances all of them together — one decoded token for each running request plus up to
/// `prefillChunk` prompt tokens of those still being read (continuous batching over `GenerationBatch`).
/// A request is cancelled at the next pass when its `cancel()` is called or the task iterating its events is
/// cancelled. Call `shutdown()` when done: it cancels what is left and joins the thread.
public final class GenerationScheduler: @unchecked Sendable {  // mutable state is guarded by `condition`
    /// The model and tokenizer every request runs with.
    public let generator: TextGenerator
    /// The most requests decoding at once; later ones wait their turn.
    public let maxActive: Int
    /// The most prompt tokens one pass reads (a longer prompt is read over several passes, so a long prompt does
    /// not stall the requests already decoding).
    public let prefillChunk: Int

    private let condition = NSCondition()
    private var waiting: [Job] = []
    private var cancelled: Set<Int> = []
    private var stopping = false
    private var stopped = false
    private var nextID = 0
    private var running = 0
    private var cancellingAll = false
    private let exited = DispatchSemaphore(value: 0)

    /// Starts the scheduler's thread.
    public init(generator: TextGenerator, maxActive: Int = 16, prefillChunk: Int = 256) {
        self.generator = generator
        self.maxActive = max(1, maxActive)
        self.prefillChunk = max(1, prefillChunk)
        let thread = Thread { [self] in
            run()
            exited.signal()
        }
        thread.name = "flow-generation"
        thread.start()
    }

    /// Queues a generation of `promptIDs`. Throws at once for invalid options (beam search included: it runs through
    /// `TextGenerator.generate`), an empty prompt or token ids outside the vocabulary, or after `shutdown()`.
    public func submit(promptIDs: [Int32], options: GenerationOptions) throws -> ScheduledGeneration {
        guard options.numBeams == 1 else {
            throw GenerationError("num_beams \(options.numBeams): the scheduler decodes one token at a time per request; run a beam search with TextGenerator.generate")
        }
        let stream = try GenerationStream(generator: generator, promptIDs: promptIDs, options: options)
        let (events, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw GenerationError("the generation scheduler has shut down; no new requests are taken") }
        let id = nextID
        nextID += 1
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(id) }
        }
        waiting.append(Job(id: id, stream: stream, continuation: continuation))
        condition.signal()
        return ScheduledGeneration(events: events) { [weak self] in self?.cancel(id) }
    }

    /// Ends every queued and running generation at the next pass (they finish as `.cancelled`); new requests are
    /// still taken.
    public func cancelAll() {
        condition.lock()
        cancellingAll = true
        condition.signal()
        condition.unlock()
    }

    /// Cancels every queued and running generation (they finish as `.cancelled`), then stops the thread and waits
    /// for it. Later calls do nothing.
    public func shutdown() {
        condition.lock()
        let first = !stopping
        stopping = true
        condition.signal()
        condition.unlock()
        if first { exited.wait() }
    }

    /// Requests being generated and requests waiting for a place, at this moment.
    public var load: (running: Int, waiting: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (running, waiting.count)
    }

    private func cancel(_ id: Int) {
        condition.lock()
        cancelled.insert(id)
        condition.signal()
        condition.unlock()
    }

    /// One request as the scheduler's thread sees it.
    private final class Job {
        let id: Int
        let stream: GenerationStream
        let continuation: AsyncStream<GenerationEvent>.Continuation
        /// Prompt tokens already in the session.
        var prefilled = 0
        /// The sampled token the next pass appends.
        var next: Int32 = 0

        init(id: Int, stream: GenerationStream, continuation: AsyncStream<GenerationEvent>.Continuation) {
            self.id = id
            self.stream = stream
            self.continuation = continuation
        }

        /// Reports the generation's end; later calls do nothing.
        func finish() {
            guard !done else { return }
            done = true
            continuation.yield(.finished(stream.generation))
            continuation.finish()
        }

        /// Reports that the model could not run it; later calls do nothing.
        func fail(_ error: GenerationError) {
            guard !done else { return }
            done = true
            stream.cancel()
            continuation.yield(.failed(error))
            continuation.finish()
        }

        private var done = false
    }

    private func run() {
        let batch = GenerationBatch(model: generator.model)
        var active: [Job] = []
        while true {
            // The count `load` reports drops before a finished request's caller hears it is done, so a client that
            // asks for the server's health right after its last response sees it idle.
            let done = active.filter { $0.stream.finishReason != nil }
            if !done.isEmpty {
                active.removeAll { $0.stream.finishReason != nil }
                condition.lock()
                running = active.count
                condition.unlock()
                for job in done { job.finish() }
            }

            condition.lock()
            while !stopping && !cancellingAll && waiting.isEmpty && active.isEmpty && cancelled.isEmpty {
                running = 0
                condition.wait()
            }
            let exiting = stopping, dropAll = stopping || cancellingAll, dropped = cancelled
            cancelled.removeAll()
            cancellingAll = false
            let ended = waiting.filter { dropAll || dropped.contains($0.id) }
            waiting.removeAll { dropAll || dropped.contains($0.id) }
            while active.count < maxActive && !waiting.isEmpty { active.append(waiting.removeFirst()) }
            running = active.count
            condition.unlock()

            for job in ended {
                job.stream.cancel()
                job.finish()
            }
            for job in active where dropAll || dropped.contains(job.id) { job.stream.cancel() }
            if exiting {
                for job in active { job.finish() }
                return
            }
            let live = active.filter { $0.stream.finishReason == nil }
            if !live.isEmpty { step(live, batch: batch) }
        }
    }

    /// One pass: a decoded token for every request past its prompt, prompt chunks for the others (first come,
    /// first read), then a sampled token for every request whose prompt is now complete.
    private func step(_ active: [Job], batch: GenerationBatch) {
        var segments: [GenerationSegment] = [], members: [Job] = []
        var budget = prefillChunk
        for job in active {
            let prompt = job.stream.promptIDs
            if job.prefilled < prompt.count {
                guard budget > 0 else { continue }
                let take = min(budget, prompt.count - job.prefilled)
                segments.append(GenerationSegment(session: job.stream.session, tokens: prompt[job.prefilled..<(job.prefilled + take)]))
                job.prefilled += take
                budget -= take
            } else {
                segments.append(GenerationSegment(session: job.stream.session, tokens: [job.next]))
            }
            members.append(job)
        }
        do {
            try batch.append(segments)
        } catch {
            for job in members { job.fail(error as? GenerationError ?? GenerationError("\(error)")) }
            return
        }
        for job in members where job.prefilled == job.stream.promptIDs.count {
            let token = job.stream.sampleNext()
            job.next = token.id
            job.continuation.yield(.token(token))
        }
    }
}
