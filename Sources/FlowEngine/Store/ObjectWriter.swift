import CProcessSupport
import Foundation

/// Writes a big file on a thread of its own while the caller reads and hashes the next chunk, and keeps the disk
/// busy as it goes (writeback is started every 16 MiB, with the range before it waited for), so that hashing,
/// copying and the disk overlap and the closing fsync only waits for the tail.
final class ObjectWriter: @unchecked Sendable {
    static let chunk = 4 << 20
    private static let writebackEvery: Int64 = 16 << 20

    private let fd: Int32
    private let path: String
    private let queue = DispatchQueue(label: "flow.object-writer")
    private let available: DispatchSemaphore
    private let lock = NSLock()
    private let buffers: [UnsafeMutableRawBufferPointer]
    private var pool: [UnsafeMutableRawBufferPointer]
    // Touched only on `queue`.
    private var failure: Error?
    private var written: Int64 = 0
    private var started: Int64 = 0
    private var previous: (offset: Int64, length: Int64) = (0, 0)

    init(fd: Int32, path: String, buffers count: Int = 3) {
        self.fd = fd
        self.path = path
        buffers = (0..<count).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunk, alignment: 4096) }
        pool = buffers
        available = DispatchSemaphore(value: count)
    }

    deinit {
        queue.sync {}
        buffers.forEach { $0.deallocate() }
    }

    /// A free buffer of `chunk` bytes to read into; waits while all are being written.
    func take() -> UnsafeMutableRawBufferPointer {
        available.wait()
        return lock.withLock { pool.removeLast() }
    }

    /// Writes the first `count` bytes of `buffer` (from `take`) after those submitted before, then frees it.
    func submit(_ buffer: UnsafeMutableRawBufferPointer, count: Int) {
        let chunk = Chunk(buffer: buffer)
        queue.async { [self] in
            let buffer = chunk.buffer
            defer {
                lock.withLock { pool.append(buffer) }
                available.signal()
            }
            guard failure == nil else { return }
            do {
                try writeAll(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<count]), path: path)
            } catch {
                failure = error
                return
            }
            written += Int64(count)
            if written - started >= Self.writebackEvery {
                // Only a hint to the kernel: a failure here leaves the work to the closing fsync.
                _ = flow_writeback(fd, started, written - started, previous.offset, previous.length)
                previous = (started, written - started)
                started = written
            }
        }
    }

    /// Returns a free buffer unused (the caller read nothing into it).
    func giveBack(_ buffer: UnsafeMutableRawBufferPointer) {
        lock.withLock { pool.append(buffer) }
        available.signal()
    }

    /// Waits until everything submitted is written; throws the first write error.
    func finish() throws {
        try queue.sync { if let failure { throw failure } }
    }
}

/// A buffer handed to the writer's thread; the pool guarantees one owner at a time.
private struct Chunk: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
}

/// Writes all of `raw` to `fd`, retrying short writes and interruptions.
func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, path: String) throws {
    var off = 0
    while off < raw.count {
        let n = write(fd, raw.baseAddress! + off, raw.count - off)
        if n < 0 {
            if errno == EINTR { continue }
            throw FlowError(.internalError, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        off += n
    }
}
