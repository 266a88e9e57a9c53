import Foundation

/// A run's metrics read for people: the final scores each step reported and the loss curves of training steps.
public struct RunMetrics: Sendable {
    /// One score: the last value a step recorded for a metric outside its training curve (eval scores, word counts...).
    public struct Score: Sendable, Equatable, Codable {
        public var step: String
        public var name: String
        public var value: Double
    }

    /// A series of (x, value) points, such as a step's train loss by optimizer step.
    public struct Curve: Sendable, Equatable {
        public var step: String
        public var name: String
        public var points: [(x: Double, y: Double)]

        public static func == (a: Curve, b: Curve) -> Bool {
            a.step == b.step && a.name == b.name && a.points.map(\.x) == b.points.map(\.x)
                && a.points.map(\.y) == b.points.map(\.y)
        }
    }

    /// The last value of every metric recorded outside the `train` series, in the order steps first reported them.
    public let scores: [Score]
    /// Train loss (`loss`) and eval loss (`eval_loss`) curves, per step, with at least two points each.
    public let lossCurves: [Curve]
    /// The last train loss of each training step.
    public let finalLoss: [String: Double]

    /// Names of curves drawn as losses.
    static let curveNames = ["loss", "eval_loss"]

    public init(_ records: [MetricRecord]) {
        var order: [String] = []
        var last: [String: Score] = [:]
        var curves: [String: Curve] = [:]
        var curveOrder: [String] = []
        var finalLoss: [String: Double] = [:]
        for m in records {
            if Self.curveNames.contains(m.name), let x = m.x {
                let key = "\(m.step)/\(m.name)"
                if curves[key] == nil {
                    curves[key] = Curve(step: m.step, name: m.name, points: [])
                    curveOrder.append(key)
                }
                curves[key]!.points.append((Double(x), m.value))
                if m.name == "loss" { finalLoss[m.step] = m.value }
                continue
            }
            guard m.series != "train" else { continue }
            let key = "\(m.step)/\(m.name)"
            if last[key] == nil { order.append(key) }
            last[key] = Score(step: m.step, name: m.name, value: m.value)
        }
        scores = order.map { last[$0]! }
        lossCurves = curveOrder.compactMap { curves[$0] }.filter { $0.points.count >= 2 }
        self.finalLoss = finalLoss
    }

    /// Scores as `name value` pairs grouped by step, e.g. `eval: exact_match 0.97, sql_valid 0.81`.
    public func scoreLines() -> [String] {
        var steps: [String] = []
        var byStep: [String: [Score]] = [:]
        for s in scores {
            if byStep[s.step] == nil { steps.append(s.step) }
            byStep[s.step, default: []].append(s)
        }
        return steps.map { step in
            "\(step): " + byStep[step]!.map { "\($0.name) \(Self.format($0.value))" }.joined(separator: ", ")
        }
    }

    /// Scores by step, then each training step's final loss: what `flow runs show` and a run's summary print.
    public func summaryLines() -> [String] {
        scoreLines() + finalLoss.keys.sorted().map { "\($0): final loss \(Self.format(finalLoss[$0]!))" }
    }

    /// The ranges every curve's points lie in; a flat y range is widened by 0.5 each way so it can be drawn.
    static func bounds(_ curves: [Curve]) -> (x: ClosedRange<Double>, y: ClosedRange<Double>)? {
        let all = curves.flatMap(\.points)
        guard let x0 = all.map(\.x).min(), let x1 = all.map(\.x).max(),
            var y0 = all.map(\.y).min(), var y1 = all.map(\.y).max()
        else { return nil }
        if y1 - y0 < 1e-12 { y0 -= 0.5; y1 += 0.5 }
        return (x0...x1, y0...y1)
    }

    /// A metric value with four significant digits.
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e9 { return String(Int(value)) }
        return String(format: "%.4g", value)
    }
}

/// Line charts of loss curves drawn with characters, for `flow runs show`.
public enum TerminalChart {
    /// Draws the curves on one grid: train losses with `•`, eval losses with `◆`; a y axis with the range, an x axis
    /// with the first and last optimizer step, and a legend. Empty when there is nothing to draw.
    public static func draw(_ curves: [RunMetrics.Curve], width: Int = 60, height: Int = 12) -> String {
        guard width >= 10, height >= 3, let bounds = RunMetrics.bounds(curves) else { return "" }
        let (x0, x1, y0, y1) = (bounds.x.lowerBound, bounds.x.upperBound, bounds.y.lowerBound, bounds.y.upperBound)
        var grid = Array(repeating: Array(repeating: Character(" "), count: width), count: height)
        func column(_ x: Double) -> Int { x1 > x0 ? Int(((x - x0) / (x1 - x0) * Double(width - 1)).rounded()) : 0 }
        func row(_ y: Double) -> Int { height - 1 - Int(((y - y0) / (y1 - y0) * Double(height - 1)).rounded()) }
        for curve in curves {
            let mark: Character = curve.name == "eval_loss" ? "◆" : "•"
            for p in curve.points { grid[row(p.y)][column(p.x)] = mark }
        }
        let top = RunMetrics.format(y1), bottom = RunMetrics.format(y0)
        let labelWidth = max(top.count, bottom.count)
        var lines: [String] = []
        for (i, cells) in grid.enumerated() {
            let label = i == 0 ? top : (i == height - 1 ? bottom : "")
            lines.append(String(repeating: " ", count: labelWidth - label.count) + label + " │" + String(cells))
        }
        lines.append(String(repeating: " ", count: labelWidth) + " └" + String(repeating: "─", count: width))
        let left = "step \(Int(x0))", right = "\(Int(x1))"
        let gap = max(1, width - left.count - right.count)
        lines.append(String(repeating: " ", count: labelWidth + 2) + left + String(repeating: " ", count: gap) + right)
        let legend = curves.map { c in
            "\(c.name == "eval_loss" ? "◆" : "•") \(c.step) \(c.name) \(RunMetrics.format(c.points.first!.y)) → "
                + RunMetrics.format(c.points.last!.y)
        }
        lines.append(String(repeating: " ", count: labelWidth + 2) + legend.joined(separator: "   "))
        return lines.joined(separator: "\n")
    }
}
