import Synchronization

/// Collects the workflows a compiled workflow file declares, the way PackageDescription collects a `Package`.
///
/// Modifiers on `Workflow` return copies; each copy re-registers under the same registration id, so the last one wins.
final class WorkflowRegistry: Sendable {
    static let shared = WorkflowRegistry()

    private struct State {
        var counter: UInt64 = 0
        var order: [UInt64] = []
        var workflows: [UInt64: Workflow] = [:]
    }
    private let state = Mutex(State())

    func nextID() -> UInt64 {
        state.withLock { s in
            s.counter += 1
            return s.counter
        }
    }

    func register(_ workflow: Workflow) {
        state.withLock { s in
            if s.workflows[workflow.registration] == nil { s.order.append(workflow.registration) }
            s.workflows[workflow.registration] = workflow
        }
    }

    var all: [Workflow] {
        state.withLock { s in s.order.compactMap { s.workflows[$0] } }
    }
}
