import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let posixWrite = Glibc.write
private let posixClose = Glibc.close
#elseif canImport(Darwin)
private let posixWrite = Darwin.write
private let posixClose = Darwin.close
#endif

/// A new file written through a plain descriptor (no buffering beyond the page cache).
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

    deinit { if fd >= 0 { _ = posixClose(fd) } }

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

    /// Closes the file after asking the kernel to start writing it back, without waiting: the merge goes on
    /// with the next shard while this one reaches the disk, and `syncFiles(in:)` waits for it at the end.
    /// (On Linux `POSIX_FADV_DONTNEED` starts writeback of dirty pages; it also keeps a merged 7B model from
    /// crowding the page cache.)
    func close() throws {
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
        let status = posixClose(fd)
        fd = -1
        guard status == 0 else {
            throw LoRAMergeError(.io, file: url.path, "close failed: \(String(cString: strerror(errno))); is the disk full?")
        }
    }

    /// Closes without reporting errors (the caller deletes the whole temporary directory).
    func abandon() {
        if fd >= 0 { _ = posixClose(fd) }
        fd = -1
    }

    /// Flushes every file in `directory`, then the directory itself, to disk.
    static func syncFiles(in directory: URL) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names.sorted() { try sync(directory.appendingPathComponent(name), isDirectory: false) }
        try sync(directory, isDirectory: true)
    }

    /// Flushes the file or directory at `url` to disk.
    static func sync(_ url: URL, isDirectory: Bool) throws {
        let syncFD = open(url.path, O_RDONLY | O_CLOEXEC | (isDirectory ? O_DIRECTORY : 0))
        guard syncFD >= 0 else {
            throw LoRAMergeError(.io, file: url.path, "cannot open to sync: \(String(cString: strerror(errno)))")
        }
        defer { _ = posixClose(syncFD) }
        guard fsync(syncFD) == 0 else {
            throw LoRAMergeError(.io, file: url.path, "fsync failed: \(String(cString: strerror(errno))); the merged checkpoint may not be on disk")
        }
    }

    /// Copies the regular file `source` to the new file `destination`.
    static func copy(_ source: URL, to destination: URL) throws {
        let input = open(source.path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw LoRAMergeError(.io, file: source.path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { _ = posixClose(input) }
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
            try output.close()
        } catch {
            output.abandon()
            throw error
        }
    }

    /// Writes `object` as sorted, indented JSON to the new file `destination` (`source`: the file it was read from,
    /// for the error message).
    static func writeJSON(_ object: [String: Any], to destination: URL, source: URL) throws {
        let json: Data
        do { json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) } catch {
            throw LoRAMergeError(.io, file: source.path, "cannot re-encode as JSON: \(error)")
        }
        let output = try MergeOutputFile(creating: destination)
        do {
            try (json + Data("\n".utf8)).withUnsafeBytes { try output.write($0) }
            try output.close()
        } catch {
            output.abandon()
            throw error
        }
    }
}
