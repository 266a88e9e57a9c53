import Foundation

/// Run tags: `<workflow>-YYYYMMDD-HHMMSS-<4 hex>`.
public enum RunTag {
    public static func make(workflow: String, date: Date = Date()) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        let stamp = String(
            format: "%04d%02d%02d-%02d%02d%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec)
        return "\(workflow)-\(stamp)-\(String(format: "%04x", UInt16.random(in: 0...UInt16.max)))"
    }
}
