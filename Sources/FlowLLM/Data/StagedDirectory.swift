import Foundation

/// A directory built in a hidden sibling (`.<name>.partial-…`) and renamed into place only when whole, so
/// readers never see a half-written one; `discard()` (or a failed build) leaves nothing at the destination.
struct StagedDirectory {
    /// Where the finished directory goes.
    let destination: URL
    /// Where it is being built.
    let staging: URL

    /// Creates the staging directory beside `destination`.
    init(for destination: URL) throws {
        self.destination = destination
        let parent = destination.deletingLastPathComponent()
        staging = parent.appendingPathComponent(
            ".\(destination.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))",
            isDirectory: true)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
    }

    /// The staged file `name`.
    func file(_ name: String) -> URL { staging.appendingPathComponent(name) }

    /// Writes `data` to the staged file `name` and syncs it to disk.
    func write(_ data: Data, to name: String) throws {
        let url = file(name)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.write(contentsOf: data)
        try handle.synchronize()
    }

    /// Moves the staged directory into place, replacing an older one only once the new one is whole.
    func publish() throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: destination.path) {
            let old = staging.deletingLastPathComponent().appendingPathComponent(staging.lastPathComponent + ".old")
            try fm.moveItem(at: destination, to: old)
            try fm.moveItem(at: staging, to: destination)
            try? fm.removeItem(at: old)
        } else {
            try fm.moveItem(at: staging, to: destination)
        }
    }

    /// Removes the staging directory.
    func discard() { try? FileManager.default.removeItem(at: staging) }
}
