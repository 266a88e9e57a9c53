/// What the engine tells a worker process to run: written as JSON, its path passed on the command line.
public struct WorkerInvocation: Sendable, Codable, Equatable {
    public var workflow: String
    public var step: String
    public var runTag: String
    public var attempt: Int
    /// Every parameter's value, defaults filled in.
    public var params: [String: String]
    /// `"step/output"` to the path of that output, materialized read-only.
    public var inputs: [String: String]
    /// The directory holding this step's outputs, one subdirectory per output name.
    public var outputsDirectory: String
    /// Mount path to local directory, for the step's volumes.
    public var volumes: [String: String]
    public var workDirectory: String

    public init(
        workflow: String, step: String, runTag: String, attempt: Int, params: [String: String],
        inputs: [String: String], outputsDirectory: String, volumes: [String: String], workDirectory: String
    ) {
        self.workflow = workflow
        self.step = step
        self.runTag = runTag
        self.attempt = attempt
        self.params = params
        self.inputs = inputs
        self.outputsDirectory = outputsDirectory
        self.volumes = volumes
        self.workDirectory = workDirectory
    }
}

/// A structured event a step reports to the engine (progress bars, metrics), one JSON object per line on fd 3.
public struct StepEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case progress, metric }
    public var kind: Kind
    /// Progress: units done and total (e.g. optimizer steps).
    public var completed: Double?
    public var total: Double?
    public var unit: String?
    /// Named values at this point (loss, lr, tokens/s...).
    public var metrics: [String: Double]?
    /// The x-axis position of metrics (e.g. the optimizer step).
    public var step: Int?
    public var series: String?

    public init(
        kind: Kind, completed: Double? = nil, total: Double? = nil, unit: String? = nil,
        metrics: [String: Double]? = nil, step: Int? = nil, series: String? = nil
    ) {
        self.kind = kind
        self.completed = completed
        self.total = total
        self.unit = unit
        self.metrics = metrics
        self.step = step
        self.series = series
    }

    /// The file descriptor workers write events to.
    public static let fileDescriptor: Int32 = 3
    /// Set to "1" for a worker without that descriptor (one on a remote host, whose output reaches the engine only
    /// through its log): it writes events to standard output instead, each line starting with `lineMarker`.
    public static let onStandardOutputVariable = "FLOW_EVENTS_ON_STDOUT"
    /// What starts an event line on standard output: an ASCII record separator, then a tag no log line starts with.
    public static let lineMarker = "\u{1E}flow-event "
}
