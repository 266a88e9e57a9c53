import Foundation

/// Finds stop sequences in streamed text and decides what may be released: text is held back while its end
/// could still be the start of a stop sequence, so a stream never shows text that turns out to belong to one.
struct StopSequenceMatcher {
    let stops: [String]
    private var pending = ""

    init(stops: [String]) { self.stops = stops }

    /// The outcome of adding a piece of text.
    enum Step: Equatable {
        /// Text safe to release now (possibly empty).
        case release(String)
        /// A stop sequence was reached: release this text (everything before the stop) and end.
        case stopped(String)
    }

    /// Adds `text`; reports what can be released and whether a stop sequence was reached.
    mutating func append(_ text: String) -> Step {
        guard !stops.isEmpty else { return .release(text) }
        pending += text
        // The earliest stop occurrence wins (any stop that starts earlier ends the text earlier).
        var earliest: String.Index?
        for stop in stops {
            if let range = pending.range(of: stop), earliest.map({ range.lowerBound < $0 }) ?? true {
                earliest = range.lowerBound
            }
        }
        if let earliest {
            let released = String(pending[..<earliest])
            pending = ""
            return .stopped(released)
        }
        let held = longestSuffixStartingAStop()
        let cut = pending.index(pending.endIndex, offsetBy: -held)
        let released = String(pending[..<cut])
        pending = String(pending[cut...])
        return .release(released)
    }

    /// The held-back text, released when generation ends for another reason.
    mutating func flush() -> String {
        defer { pending = "" }
        return pending
    }

    /// The length (in characters) of the longest suffix of `pending` that is a proper prefix of some stop.
    private func longestSuffixStartingAStop() -> Int {
        var best = 0
        for stop in stops {
            var length = min(stop.count - 1, pending.count)
            while length > best {
                if pending.hasSuffix(stop.prefix(length)) { best = length; break }
                length -= 1
            }
        }
        return best
    }
}
