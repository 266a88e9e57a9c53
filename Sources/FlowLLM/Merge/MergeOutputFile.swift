import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let posixWrite = Glibc.write
#elseif canImport(Darwin)
private let posixWrite = Darwin.write
#endif

/// A new file written through a plain descriptor (no buffering beyond the page cache), synced before close.
final class MergeOutputFile {
    let url: URL
    private var fd: Int32

    /// Creates `url`, which must not exist yet.
    init(creating url: URL) throws {
        self.url = url
        fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw LoRAMergeError(.io, file: url.path, "cannot create: \(String(cString: strerror(errno)))")
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Writes all of `bytes` at the current end of the file.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var cursor = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = posixWrite(fd, cursor, left)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw LoRAMergeError(.io, file: url.path, "write failed: \(String(cString: strerror(errno))); is the disk full?")
            }
            cursor += n
            left -= n
        }
    }

    /// Flushes the file to disk and closes it.
    func syncAndClose() throws {
        defer { close(fd); fd = -1 }
        guard fsync(fd) == 0 else {
            throw LoRAMergeError(.io, file: url.path, "fsync failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Closes without syncing (the caller deletes the whole temporary directory).
    func abandon() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// Syncs the directory at `url` so the names created or renamed in it are durable.
    static func syncDirectory(_ url: URL) throws {
        let dirFD = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else {
            throw LoRAMergeError(.io, file: url.path, "cannot open the directory to sync it: \(String(cString: strerror(errno)))")
        }
        defer { close(dirFD) }
        guard fsync(dirFD) == 0 else {
            throw LoRAMergeError(.io, file: url.path, "fsync of the directory failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Copies the regular file `source` to the new file `destination` and syncs it.
    static func copy(_ source: URL, to destination: URL) throws {
        let input = open(source.path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw LoRAMergeError(.io, file: source.path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(input) }
        let output = try MergeOutputFile(creating: destination)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        do {
            while true {
                let n = read(input, buffer.baseAddress, buffer.count)
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else {
                    throw LoRAMergeError(.io, file: source.path, "read failed: \(String(cString: strerror(errno)))")
                }
                if n == 0 { break }
                try output.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
            try output.syncAndClose()
        } catch {
            output.abandon()
            throw error
        }
    }
}
