import Foundation

/// A scratch XFS file system (which has reflinks: `FICLONE` shares blocks) on a loop device, mounted in a
/// temporary directory; unmounted and deleted when released. Needs root, loop devices and xfsprogs' `mkfs.xfs`.
public final class LoopFileSystem: @unchecked Sendable {
    /// Where it is mounted.
    public let mountPoint: URL
    private let directory: URL

    /// Whether this machine can make one (root, `/dev/loop-control`, `mkfs.xfs`).
    public static var available: Bool {
        getuid() == 0 && FileManager.default.fileExists(atPath: "/dev/loop-control") && mkfs != nil
    }

    private static let mkfs = ["/usr/sbin/mkfs.xfs", "/sbin/mkfs.xfs"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Makes and mounts a 300 MiB (sparse) XFS image; throws saying why where it cannot.
    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("flow-xfs-\(UUID().uuidString)")
        mountPoint = directory.appendingPathComponent("mnt", isDirectory: true)
        let image = directory.appendingPathComponent("xfs.img")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        do {
            guard let mkfs = Self.mkfs else { throw TestingError("mkfs.xfs is not installed (apt-get install xfsprogs)") }
            FileManager.default.createFile(atPath: image.path, contents: nil)
            let handle = try FileHandle(forWritingTo: image)
            try handle.truncate(atOffset: 300 << 20)
            try handle.close()
            try runTool(mkfs, ["-q", "-m", "reflink=1", image.path])
            try runTool("/bin/mount", ["-o", "loop", image.path, mountPoint.path])
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    deinit {
        _ = try? runTool("/bin/umount", [mountPoint.path])
        try? FileManager.default.removeItem(at: directory)
    }

    /// Whether `file`'s blocks are shared with another file (`filefrag -v` flags its extents `shared`).
    public static func sharesBlocks(_ file: URL) throws -> Bool {
        try runTool("/usr/sbin/filefrag", ["-v", file.path]).contains("shared")
    }
}
