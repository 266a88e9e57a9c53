import Dispatch
import FlowEngine
import Foundation

/// Draws a run's graph in place on a terminal while it runs (LiveGraph's lines, redrawn on every event and twice a
/// second for the clocks), leaving the final state on screen.
final class LiveView: @unchecked Sendable {
    private let graph = LiveGraph()
    private let lock = NSLock()
    private var drawnLines = 0
    private var timer: DispatchSourceTimer?
    private var lastDraw = 0.0

    /// Whether `flow run` should draw live: standard output is a terminal that can move its cursor.
    static var isAvailable: Bool {
        let env = ProcessInfo.processInfo.environment
        return isatty(STDOUT_FILENO) != 0 && env["TERM"] != "dumb" && env["FLOW_PLAIN"] == nil
    }

    init() {
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 0.5, repeating: 0.5)
        timer.setEventHandler { [weak self] in self?.draw(force: true) }
        timer.resume()
        self.timer = timer
    }

    func handle(_ event: RunEvent) {
        lock.withLock { graph.apply(event) }
        // Progress events can come hundreds a second: redraw at most ten times a second for them.
        draw(force: event.event != .stepProgress)
        if event.event == .runFinished { finish() }
    }

    private func finish() {
        timer?.cancel()
        timer = nil
    }

    private func draw(force: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date().timeIntervalSince1970
        guard force || now - lastDraw >= 0.1 else { return }
        lastDraw = now
        let lines = graph.render(now: now, width: Self.terminalWidth() - 1, colors: Terminal.colors)
        var out = drawnLines > 0 ? "\u{1B}[\(drawnLines)F\u{1B}[J" : ""
        out += lines.joined(separator: "\n") + "\n"
        drawnLines = lines.count
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 100
    }
}
