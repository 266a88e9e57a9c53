import Foundation

/// The objects this store knows a host's store holds: those sent there and verified, those the host answered it has,
/// and the output files its steps left there (which the host keeps as objects). With every object a step needs
/// known, the step asks the host nothing before it starts: re-sending an unchanged input costs no round trip.
///
/// The record is a hint, never trusted blindly: a step's launch checks on the host that every object it lays out is
/// there, and when one is missing (the host's root was cleaned, say) the record for that host is dropped and the
/// objects are asked for and sent again. One file per host destination and root, under the store's `hosts/`, one
/// hex digest per line, appended with O_APPEND (two runs may append at once).
final class HostObjects: @unchecked Sendable {
    private let file: URL
    private let lock = NSLock()
    private var known: Set<Digest>?

    private static let registry = NSLock()
    nonisolated(unsafe) private static var open: [String: HostObjects] = [:]

    /// The record for `host` in the store at `storeDirectory` (one instance per file in this process).
    static func record(for host: HostConfig, storeDirectory: URL) -> HostObjects {
        let key = "\(host.ssh ?? "")\u{0}\(host.port ?? 0)\u{0}\(host.root)"
        let file = storeDirectory.appendingPathComponent("hosts", isDirectory: true)
            .appendingPathComponent("\(Digest.of(Data(key.utf8)).hex.prefix(24)).objects")
        return registry.withLock {
            if let existing = open[file.path] { return existing }
            let made = HostObjects(file: file)
            open[file.path] = made
            return made
        }
    }

    private init(file: URL) { self.file = file }

    private func load() -> Set<Digest> {
        if let known { return known }
        var set = Set<Digest>()
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            for line in text.split(separator: "\n") { if let d = Digest(hex: String(line)) { set.insert(d) } }
        }
        known = set
        return set
    }

    /// The digests among `digests` not known to be on the host.
    func unknown(_ digests: Set<Digest>) -> Set<Digest> {
        lock.withLock { digests.subtracting(load()) }
    }

    /// Records that the host holds these objects.
    func add<S: Sequence>(_ digests: S) where S.Element == Digest {
        lock.withLock {
            var set = load()
            let new = digests.filter { set.insert($0).inserted }
            known = set
            guard !new.isEmpty else { return }
            try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            let fd = Foundation.open(file.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return }
            defer { close(fd) }
            let text = new.map { $0.hex + "\n" }.joined()
            try? Data(text.utf8).withUnsafeBytes { try writeAll(fd, $0, path: file.path) }
        }
    }

    /// Forgets everything about the host (it lost objects the record said it had).
    func reset() {
        lock.withLock {
            known = []
            unlink(file.path)
        }
    }
}
