import Foundation

/// The state of a run's steps as `flow run` draws it live on a terminal: waiting, running (with a progress bar,
/// rate and ETA), cached, done or failed. Fed with the run's events; rendering is a pure function of that state.
public final class LiveGraph: @unchecked Sendable {
    public enum State: String, Sendable { case waiting, running, retrying, cached, done, failed, skipped, cancelled }

    struct Row {
        var name: String
        var state = State.waiting
        var startedAt: Double?
        var seconds: Double?
        var attempt = 1
        var completed: Double?
        var total: Double?
        var unit = ""
        /// The first progress report of the attempt, for the rate.
        var firstProgress: (time: Double, completed: Double)?
        var lastProgressAt: Double?
        var metrics: [String: Double] = [:]
        var detail: String?
        /// The remote host a running step runs on (nil here).
        var host: String?
    }

    private var rows: [Row] = []
    private var index: [String: Int] = [:]
    private var startedAt: Double?
    private var finished: (status: String, time: Double)?
    public private(set) var tag = ""

    public init() {}

    /// Metrics shown on a running step's line, in this order, before any other.
    static let preferredMetrics = ["loss", "eval_loss", "exact_match", "sql_valid", "tokens_per_second"]

    public func apply(_ event: RunEvent) {
        tag = event.tag
        if event.event == .runStarted {
            startedAt = event.time
            for name in event.steps ?? [] where index[name] == nil {
                index[name] = rows.count
                rows.append(Row(name: name))
            }
            return
        }
        if event.event == .runFinished {
            finished = (event.status ?? "", event.time)
            return
        }
        guard let name = event.step else { return }
        if index[name] == nil {
            index[name] = rows.count
            rows.append(Row(name: name))
        }
        let i = index[name]!
        switch event.event {
        case .stepWaiting:
            rows[i].detail = event.detail
        case .stepStarted:
            rows[i].state = .running
            rows[i].startedAt = rows[i].startedAt ?? event.time
            rows[i].attempt = event.attempt ?? 1
            rows[i].firstProgress = nil
            rows[i].completed = nil
            rows[i].total = nil
            rows[i].detail = nil
            rows[i].host = event.host == "local" ? nil : event.host
        case .stepProgress:
            if let done = event.completed {
                if rows[i].firstProgress == nil || done < (rows[i].completed ?? 0) {
                    rows[i].firstProgress = (event.time, done)
                }
                rows[i].completed = done
                rows[i].total = event.total
                rows[i].unit = event.unit ?? ""
                rows[i].lastProgressAt = event.time
            }
            rows[i].metrics.merge(event.metrics ?? [:]) { _, new in new }
        case .stepRetrying:
            rows[i].state = .retrying
            rows[i].detail = event.error
        case .stepFinished:
            rows[i].seconds = event.seconds
            rows[i].detail = event.error
            switch event.status {
            case "succeeded": rows[i].state = .done
            case "cached": rows[i].state = .cached; rows[i].detail = event.cachedFrom
            case "skipped": rows[i].state = .skipped
            case "cancelled": rows[i].state = .cancelled
            default: rows[i].state = .failed
            }
        case .runStarted, .runFinished:
            break
        }
    }

    /// Estimated seconds left for a running step with a known total, from its rate since its first progress report.
    func eta(_ row: Row, now: Double) -> Double? {
        guard let total = row.total, let done = row.completed, let first = row.firstProgress, done > first.completed
        else { return nil }
        let rate = (done - first.completed) / max(1e-6, (row.lastProgressAt ?? now) - first.time)
        return rate > 0 ? max(0, (total - done) / rate) : nil
    }

    /// The lines to draw: a header, then one line per step, each at most `width` characters (colour codes aside).
    public func render(now: Double, width: Int = 100, colors: Bool = false) -> [String] {
        func paint(_ text: String, _ code: String) -> String { colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        let nameWidth = min(24, rows.map(\.name.count).max() ?? 0)
        let done = rows.filter { [.done, .cached].contains($0.state) }.count
        let elapsed = (finished?.time ?? now) - (startedAt ?? now)
        var header = "\(tag)  \(done)/\(rows.count) steps  \(format(elapsed))"
        if let finished { header += "  \(finished.status)" }
        var lines = [paint(clip(header, width), "1")]
        for row in rows {
            let (icon, color): (String, String) =
                switch row.state {
                case .waiting: ("·", "2")
                case .running: ("●", "33")
                case .retrying: ("↻", "33")
                case .cached: ("○", "32")
                case .done: ("✓", "32")
                case .failed: ("✗", "31")
                case .skipped, .cancelled: ("-", "2")
                }
            let name = row.name.padding(toLength: max(nameWidth, row.name.count), withPad: " ", startingAt: 0)
            let text = clip("\(name)  " + describe(row, now: now), max(10, width - 4))
            lines.append("  " + paint(icon, color) + " " + (row.state == .waiting ? paint(text, "2") : text))
        }
        return lines
    }

    private func describe(_ row: Row, now: Double) -> String {
        switch row.state {
        case .waiting:
            return row.detail ?? "waiting"
        case .cached:
            return "cached" + (row.detail.map { " (from \($0))" } ?? "")
        case .done:
            return "done in \(format(row.seconds ?? 0))" + metricsText(row.metrics, limit: 2)
        case .failed:
            return "failed: \(row.detail ?? "")"
        case .skipped, .cancelled:
            return row.state.rawValue + (row.detail.map { ": \($0)" } ?? "")
        case .retrying:
            return "attempt \(row.attempt) failed, retrying: \(row.detail ?? "")"
        case .running:
            var parts: [String] = []
            if let host = row.host { parts.append("on \(host)") }
            if row.attempt > 1 { parts.append("attempt \(row.attempt)") }
            if let total = row.total, total > 0, let completed = row.completed {
                let fraction = min(1, max(0, completed / total))
                let cells = 20, full = Int((fraction * Double(cells)).rounded(.down))
                parts.append("[" + String(repeating: "█", count: full) + String(repeating: "░", count: cells - full) + "]")
                parts.append(String(format: "%.0f%%", fraction * 100))
                parts.append("\(Int(completed))/\(Int(total)) \(row.unit)")
            } else if let completed = row.completed {
                parts.append("\(Int(completed)) \(row.unit)")
            } else {
                parts.append("running")
            }
            parts.append(format(now - (row.startedAt ?? now)))
            if let eta = eta(row, now: now) { parts.append("ETA \(format(eta))") }
            return parts.joined(separator: "  ") + metricsText(row.metrics, limit: 3)
        }
    }

    private func metricsText(_ metrics: [String: Double], limit: Int) -> String {
        let keys = Self.preferredMetrics.filter { metrics[$0] != nil }
            + metrics.keys.filter { !Self.preferredMetrics.contains($0) }.sorted()
        let shown = keys.prefix(limit).map { "\($0) \(RunMetrics.format(metrics[$0]!))" }
        return shown.isEmpty ? "" : "  " + shown.joined(separator: "  ")
    }

    private func clip(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(max(1, width - 1))) + "…"
    }
}
