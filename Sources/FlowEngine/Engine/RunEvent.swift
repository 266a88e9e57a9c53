/// What happens during a run, as the CLI draws it and `flow run --json` prints it (one object per line).
public struct RunEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case runStarted = "run_started"
        /// A ready step waits for a GPU or a host's slot (`detail` says which, on which hosts).
        case stepWaiting = "step_waiting"
        case stepStarted = "step_started"
        case stepProgress = "step_progress"
        case stepRetrying = "step_retrying"
        case stepFinished = "step_finished"
        case runFinished = "run_finished"
    }

    public var event: Kind
    public var tag: String
    public var time: Double
    public var step: String?
    public var attempt: Int?
    public var status: String?
    public var seconds: Double?
    public var error: String?
    public var steps: [String]?
    public var completed: Double?
    public var total: Double?
    public var unit: String?
    public var metrics: [String: Double]?
    public var exitCode: Int32?
    /// For a cached step: the run whose outputs it reused.
    public var cachedFrom: String?
    /// For a started step: the host it runs on (`local` for this machine).
    public var host: String?
    /// For a waiting step: what it waits for.
    public var detail: String?

    public init(_ event: Kind, tag: String, time: Double, step: String? = nil) {
        self.event = event
        self.tag = tag
        self.time = time
        self.step = step
    }
}
