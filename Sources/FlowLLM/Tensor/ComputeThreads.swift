import COpenBLAS
import Dispatch
import Foundation

/// The threads one model's computation is split over. OpenBLAS's own threading scales poorly on the many
/// small products of a small model (two threads ran slower than one here), so while a model computes,
/// OpenBLAS is held at one thread and the work is split into `count` pieces at this level instead.
public struct ComputeThreads: Sendable {
    /// How many pieces parallel loops split into.
    public let count: Int

    /// `count` threads (at least 1).
    public init(count: Int) { self.count = max(1, count) }

    /// The thread count a step was given: `OPENBLAS_NUM_THREADS`, else `OMP_NUM_THREADS`, else the
    /// processor count (what a workflow function's `cpu` sets).
    public static var fromEnvironment: ComputeThreads {
        let env = ProcessInfo.processInfo.environment
        let requested = env["OPENBLAS_NUM_THREADS"].flatMap(Int.init) ?? env["OMP_NUM_THREADS"].flatMap(Int.init)
        return ComputeThreads(count: requested ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Runs body(0..<iterations), concurrently when there is more than one thread.
    func forEach(_ iterations: Int, _ body: (Int) -> Void) {
        if count <= 1 || iterations <= 1 {
            for i in 0..<iterations { body(i) }
        } else {
            // The pieces write disjoint parts of shared buffers through raw pointers, which Swift cannot check.
            withoutActuallyEscaping(body) { body in
                let work = UncheckedWork(body: body)
                DispatchQueue.concurrentPerform(iterations: iterations) { work.body($0) }
            }
        }
    }

    /// Splits 0..<n into up to `count` contiguous ranges of at least `minimum` items and runs body on each.
    func forRanges(_ n: Int, minimum: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = max(1, min(count, n / max(minimum, 1)))
        forEach(parts) { i in body((n * i / parts)..<(n * (i + 1) / parts)) }
    }

    /// Runs body with OpenBLAS single-threaded (the pieces run concurrently instead), restoring it afterwards.
    func withSingleThreadedBLAS<T>(_ body: () throws -> T) rethrows -> T {
        guard count > 1 else { return try body() }
        let saved = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(saved) }
        return try body()
    }
}

private struct UncheckedWork: @unchecked Sendable {
    let body: (Int) -> Void
}
