import Foundation

/// Text renderings of runs, steps and logs for the CLI (plain text; colour is the CLI's business).
public enum RunReport {
    /// `2026-11-23 15:01:02` in UTC.
    public static func timestamp(_ t: Double) -> String {
        var time = time_t(t)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1,
                      parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    public static func isoTimestamp(_ t: Double) -> String {
        let ms = Int((t - t.rounded(.down)) * 1000)
        return timestamp(t).replacingOccurrences(of: " ", with: "T") + String(format: ".%03dZ", ms)
    }

    public static func duration(_ seconds: Double?) -> String {
        guard let seconds else { return "-" }
        return format(seconds)
    }

    /// Lays out rows in columns.
    public static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    /// One log line as `flow logs` prints it: `step | text`, optionally timestamped.
    public static func logLine(_ line: LogStore.Line, width: Int, timestamps: Bool) -> String {
        var label = line.step ?? "flow"
        if line.step != nil && line.attempt > 1 { label += "#\(line.attempt)" }
        let prefix = label.padding(toLength: max(width, label.count), withPad: " ", startingAt: 0) + " | "
        return (timestamps ? isoTimestamp(line.time) + " " : "") + prefix + line.text
    }

    static func sourceLine(_ p: Provenance?) -> String {
        guard let p else { return "-" }
        var parts = ["flow \(p.flowVersion)"]
        if let commit = p.gitCommit {
            parts.append("git \(commit.prefix(12))" + (p.gitDirty == true ? " (dirty, diff \(p.gitDiffDigest?.prefix(12) ?? "?"))" : " (clean)"))
        } else {
            parts.append("not in a git repository")
        }
        parts.append("workflow file \(p.workflowFileDigest.prefix(12))")
        return parts.joined(separator: ", ")
    }

    /// The `flow runs` table.
    public static func runsTable(_ runs: [RunRecord], steps: [String: [StepRecord]]) -> String {
        table(
            ["TAG", "STATUS", "STARTED", "DURATION", "STEPS"],
            runs.map { run in
                let s = steps[run.tag] ?? []
                let done = s.filter { $0.status == .succeeded || $0.status == .cached }.count
                let end = run.finishedAt ?? (run.status.isFinished ? nil : Date().timeIntervalSince1970)
                return [run.tag, run.status.rawValue, timestamp(run.createdAt),
                        duration(end.map { $0 - run.createdAt }), "\(done)/\(s.count)"]
            })
    }

    /// The body of `flow runs show`.
    public static func show(_ run: RunRecord, steps: [StepRecord], attempts: [AttemptRecord],
                            metrics: [MetricRecord]) -> String {
        var out = """
            run       \(run.tag)
            workflow  \(run.workflow) (\(run.workflowFile))
            status    \(run.status.rawValue)\(run.error.map { " — \($0)" } ?? "")
            started   \(timestamp(run.createdAt)) UTC on \(run.host)
            duration  \(duration(run.finishedAt.map { $0 - run.createdAt }))
            params    \(run.params)
            targets   \(run.targets)
            source    \(sourceLine(run.decodedProvenance))

            """
        out += table(
            ["STEP", "STATUS", "ATTEMPTS", "HOST", "DURATION", "DETAIL"],
            steps.map { s in
                let d = s.startedAt.flatMap { start in s.finishedAt.map { $0 - start } }
                let detail = s.cachedFrom.map { "cached (from \($0))" } ?? s.error ?? ""
                let host = attempts.last { $0.step == s.name }?.host ?? ""
                return [s.name, s.status.rawValue, "\(s.attempts)", host, duration(d), detail]
            })
        let failedAttempts = attempts.filter { $0.error != nil }
        if !failedAttempts.isEmpty {
            out += "\n\nattempts that failed:\n"
            out += failedAttempts.map { a in "  \(a.step) #\(a.number) on \(a.host): \(a.error ?? "")" }
                .joined(separator: "\n")
        }
        let read = RunMetrics(metrics)
        let lines = read.summaryLines()
        if !lines.isEmpty {
            out += "\n\nmetrics:\n" + lines.map { "  " + $0 }.joined(separator: "\n")
        }
        if !read.lossCurves.isEmpty {
            out += "\n\nloss:\n" + TerminalChart.draw(read.lossCurves)
        }
        return out
    }
}

extension RunReport {
    /// The closing summary of `flow run`: how the run ended, steps run and cached, time, the scores and final losses
    /// it recorded, and the commands to try next.
    public static func summary(_ run: RunRecord, steps: [StepRecord], metrics: [MetricRecord], next: [(String, String)])
        -> String
    {
        let ran = steps.filter { $0.status == .succeeded }.count
        let cached = steps.filter { $0.status == .cached }.count
        let failed = steps.filter { $0.status == .failed }.map(\.name)
        let seconds = run.finishedAt.map { $0 - run.createdAt }
        var lines = ["run \(run.status.rawValue) \(run.tag) in \(duration(seconds)): \(ran) ran, \(cached) cached"
            + (failed.isEmpty ? "" : ", failed: \(failed.joined(separator: ", "))")]
        lines += RunMetrics(metrics).summaryLines().map { "  " + $0 }
        if !next.isEmpty {
            lines.append("next:")
            let width = next.map(\.0.count).max() ?? 0
            for (command, what) in next {
                lines.append("  " + command.padding(toLength: width, withPad: " ", startingAt: 0) + "   " + what)
            }
        }
        return lines.joined(separator: "\n")
    }
}
