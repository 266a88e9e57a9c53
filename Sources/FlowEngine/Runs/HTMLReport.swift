import Foundation

/// `flow report <tag>`: one self-contained HTML page about a run — its config, provenance, steps, loss curves (SVG),
/// scores and a sample of its predictions — with no external scripts, styles or fonts.
public struct HTMLReport {
    public var run: RunRecord
    public var steps: [StepRecord]
    public var metrics: [MetricRecord]
    /// Config files the run's parameters name (path relative to the project, contents).
    public var configFiles: [(path: String, text: String)] = []
    /// `predictions.jsonl` files from the run's outputs (ref, first lines).
    public var predictions: [(ref: String, rows: [[String: Any]])] = []

    /// How many prediction rows a report shows per file.
    public static let predictionSample = 25

    public init(run: RunRecord, steps: [StepRecord], metrics: [MetricRecord]) {
        self.run = run
        self.steps = steps
        self.metrics = metrics
    }

    /// Collects what a run's report shows from the project: config files its parameters name (YAML, JSON or TOML
    /// under the project, at most 256 KiB) and the `predictions.jsonl` files among its step outputs.
    public static func gather(run: RunRecord, database: RunDatabase, project: Project) throws -> HTMLReport {
        var report = HTMLReport(run: run, steps: try database.steps(of: run.tag), metrics: try database.metrics(of: run.tag))
        let params = (try? JSONDecoder().decode([String: String].self, from: Data(run.params.utf8))) ?? [:]
        let fm = FileManager.default
        for (_, value) in params.sorted(by: { $0.key < $1.key }) {
            guard ["yml", "yaml", "json", "toml"].contains((value as NSString).pathExtension.lowercased()) else { continue }
            let url = value.hasPrefix("/") ? URL(fileURLWithPath: value) : project.root.appendingPathComponent(value)
            guard let size = (try? fm.attributesOfItem(atPath: url.path))?[.size] as? Int, size <= 256 << 10,
                let text = try? String(contentsOf: url, encoding: .utf8)
            else { continue }
            report.configFiles.append((value, text))
        }
        // Read from the store: a cached step's outputs are not written out under the run.
        let store = ContentStore(directory: project.storeDirectory.appendingPathComponent("objects"))
        for output in try database.outputs(of: run.tag) {
            guard let tree = Digest(hex: output.digest).flatMap({ try? store.tree($0) }),
                let entry = tree.entries.first(where: { $0.name == "predictions.jsonl" && $0.kind == .file }),
                let handle = try? FileHandle(forReadingFrom: store.url(for: entry.digest))
            else { continue }
            defer { try? handle.close() }
            let head = (try? handle.read(upToCount: 1 << 20)) ?? Data()
            let rows = head.split(separator: UInt8(ascii: "\n")).prefix(predictionSample).compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0))) as? [String: Any]
            }
            report.predictions.append(("runs/\(run.tag)/\(output.step)/\(output.name)/predictions.jsonl", rows))
        }
        return report
    }

    public func html() -> String {
        let read = RunMetrics(metrics)
        var body = "<h1>\(escape(run.tag))</h1>\n"
        let seconds = run.finishedAt.map { $0 - run.createdAt }
        body += table(["", ""], [
            ["workflow", "\(run.workflow) (\(run.workflowFile))"],
            ["status", run.status.rawValue + (run.error.map { " — \($0)" } ?? "")],
            ["started", RunReport.timestamp(run.createdAt) + " UTC on \(run.host)"],
            ["duration", RunReport.duration(seconds)],
            ["targets", run.targets],
            ["source", RunReport.sourceLine(run.decodedProvenance)],
        ], headless: true)
        if !read.scores.isEmpty || !read.finalLoss.isEmpty {
            body += "<h2>Metrics</h2>\n"
            body += table(["step", "metric", "value"],
                          read.scores.map { [$0.step, $0.name, RunMetrics.format($0.value)] }
                            + read.finalLoss.keys.sorted().map { [$0, "final loss", RunMetrics.format(read.finalLoss[$0]!)] })
        }
        if !read.lossCurves.isEmpty {
            body += "<h2>Loss</h2>\n"
            let byStep = Dictionary(grouping: read.lossCurves, by: \.step)
            for step in read.lossCurves.map(\.step).reduce(into: [String](), { if !$0.contains($1) { $0.append($1) } }) {
                body += "<h3>\(escape(step))</h3>\n" + Self.svg(byStep[step]!) + "\n"
            }
        }
        body += "<h2>Steps</h2>\n"
        body += table(["step", "status", "attempts", "duration", "detail"], steps.map { s in
            let d = s.startedAt.flatMap { start in s.finishedAt.map { $0 - start } }
            return [s.name, s.status.rawValue, "\(s.attempts)", RunReport.duration(d),
                    s.cachedFrom.map { "cached (from \($0))" } ?? s.error ?? ""]
        })
        body += "<h2>Parameters</h2>\n<pre>\(escape(prettyJSON(run.params)))</pre>\n"
        for (path, text) in configFiles {
            body += "<h3>\(escape(path))</h3>\n<pre>\(escape(text))</pre>\n"
        }
        for (ref, rows) in predictions where !rows.isEmpty {
            body += "<h2>Predictions</h2>\n<p>The first \(rows.count) rows of <code>\(escape(ref))</code> "
                + "(all of them: <code>flow volume get \(escape((ref as NSString).deletingLastPathComponent))</code>).</p>\n"
            let first = ["prompt", "expected", "output"].filter { k in rows.contains { $0[k] != nil } }
            let rest = Set(rows.flatMap(\.keys)).subtracting(first).sorted()
            body += table(first + rest, rows.map { row in (first + rest).map { cell(row[$0]) } }, preformatted: true)
        }
        if let provenance = run.provenance {
            body += "<h2>Provenance</h2>\n<pre>\(escape(prettyJSON(provenance)))</pre>\n"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>flow report \(escape(run.tag))</title>
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}
            table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ddd;padding:.25em .5em;
            text-align:left;vertical-align:top}th{background:#f4f4f4}pre{background:#f8f8f8;padding:.5em;overflow:auto}
            td pre{margin:0;padding:0;background:none;white-space:pre-wrap;max-width:40em}
            svg{background:#fcfcfc;border:1px solid #ddd}
            </style></head><body>
            \(body)<p style="color:#888">written by flow \(escape(FlowVersion.current)) on \(RunReport.timestamp(Date().timeIntervalSince1970)) UTC</p>
            </body></html>

            """
    }

    /// A line chart of one step's curves: train loss as a line, eval loss as dots, axes labelled with the ranges.
    static func svg(_ curves: [RunMetrics.Curve], width: Double = 640, height: Double = 280) -> String {
        guard let bounds = RunMetrics.bounds(curves) else { return "" }
        let (x0, x1, y0, y1) = (bounds.x.lowerBound, bounds.x.upperBound, bounds.y.lowerBound, bounds.y.upperBound)
        let (left, right, top, bottom) = (56.0, 12.0, 12.0, 36.0)
        func px(_ x: Double) -> Double { left + (x1 > x0 ? (x - x0) / (x1 - x0) : 0) * (width - left - right) }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(height - bottom))\" stroke=\"#999\"/>"
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(height - bottom))\" x2=\"\(f(width - right))\" y2=\"\(f(height - bottom))\" stroke=\"#999\"/>"
        svg += "<text x=\"\(f(left - 4))\" y=\"\(f(top + 10))\" text-anchor=\"end\" font-size=\"11\">\(RunMetrics.format(y1))</text>"
        svg += "<text x=\"\(f(left - 4))\" y=\"\(f(height - bottom))\" text-anchor=\"end\" font-size=\"11\">\(RunMetrics.format(y0))</text>"
        svg += "<text x=\"\(f(left))\" y=\"\(f(height - 20))\" font-size=\"11\">step \(Int(x0))</text>"
        svg += "<text x=\"\(f(width - right))\" y=\"\(f(height - 20))\" text-anchor=\"end\" font-size=\"11\">\(Int(x1))</text>"
        var legendX = left
        for curve in curves {
            let eval = curve.name == "eval_loss"
            let color = eval ? "#d62728" : "#1f77b4"
            if eval {
                for p in curve.points { svg += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(color)\"/>" }
            }
            let points = curve.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"\(eval ? " stroke-dasharray=\"4 3\"" : "") points=\"\(points)\"/>"
            svg += "<text x=\"\(f(legendX))\" y=\"\(f(height - 4))\" font-size=\"11\" fill=\"\(color)\">"
                + "\(escape(curve.name)) \(RunMetrics.format(curve.points.first!.y)) → \(RunMetrics.format(curve.points.last!.y))</text>"
            legendX += 200
        }
        return svg + "</svg>"
    }

    private func table(_ header: [String], _ rows: [[String]], headless: Bool = false, preformatted: Bool = false) -> String {
        var out = "<table>\n"
        if !headless { out += "<tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n" }
        for row in rows {
            out += "<tr>" + row.map { preformatted ? "<td><pre>\(escape($0))</pre></td>" : "<td>\(escape($0))</td>" }.joined()
                + "</tr>\n"
        }
        return out + "</table>\n"
    }

    private func cell(_ value: Any?) -> String {
        switch value {
        case nil: return ""
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        case let v?:
            guard JSONSerialization.isValidJSONObject(v),
                let data = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .withoutEscapingSlashes])
            else { return "\(v)" }
            return String(decoding: data, as: UTF8.self)
        }
    }

    private func prettyJSON(_ text: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return text }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Escapes text for HTML element content and attribute values.
func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}
