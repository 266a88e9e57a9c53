import CProcessSupport
import Crypto
import Foundation

/// Remembers the digests of files already hashed, keyed by device, inode, size, mtime and ctime.
public protocol StatCache: Sendable {
    func digest(for key: FileIdentity) -> (Digest, Int64)?
    func remember(_ key: FileIdentity, digest: Digest, size: Int64)
}

/// What identifies an unchanged file without reading it.
public struct FileIdentity: Hashable, Sendable {
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var mtimeNanos: Int64
    public var ctimeNanos: Int64

    init(path: String, _ st: stat) {
        self.path = path
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        mtimeNanos = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        ctimeNanos = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
    }
}

/// Content-addressed objects under `objects/ab/cdef…`: file contents and directory trees, each stored once.
///
/// Writes go to a temporary file that is fsynced and renamed into place, so an object either exists whole or
/// not at all; a crash leaves at most a stray temporary file that `fsck` removes.
public struct ContentStore: Sendable {
    public let directory: URL
    /// Where objects that were hashed on a read are remembered by identity (device, inode, size, mtime, ctime):
    /// reading one again while its identity is unchanged skips the hash and clones or copies it at disk speed —
    /// the cheap verification; anything written to an object file changes its identity and gets it hashed again.
    /// `fsck` always re-hashes.
    public var verifiedObjects: StatCache?
    /// Objects smaller than this are always hashed on read: cheaper than looking their identity up.
    static let trustedObjectSize: Int64 = 1 << 20
    /// Files this big are written on a second thread while the next chunk is hashed (see `ObjectWriter`).
    static let pipelinedSize: Int64 = 16 << 20
    private var temporary: URL { directory.appendingPathComponent("tmp", isDirectory: true) }

    public init(directory: URL, verifiedObjects: StatCache? = nil) {
        self.directory = directory
        self.verifiedObjects = verifiedObjects
    }

    public func url(for digest: Digest) -> URL {
        let hex = digest.hex
        return directory.appendingPathComponent(String(hex.prefix(2)), isDirectory: true)
            .appendingPathComponent(String(hex.dropFirst(2)), isDirectory: false)
    }

    public func contains(_ digest: Digest) -> Bool { FileManager.default.fileExists(atPath: url(for: digest).path) }

    /// Stores bytes; returns their digest.
    @discardableResult
    public func put(_ data: Data) throws -> Digest {
        let digest = Digest.of(data)
        if contains(digest) { return digest }
        let tmp = try temporaryFile()
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw storeError("cannot create \(tmp.path)") }
        defer { close(fd) }
        try data.withUnsafeBytes { raw in try writeAll(fd, raw, path: tmp.path) }
        try publish(fd: fd, temporary: tmp, as: digest)
        return digest
    }

    /// Stores a file in one streaming pass (hashing while copying; on a file system with reflinks, cloning it and
    /// hashing the clone); returns its digest and size.
    public func putFile(_ file: URL, statCache: StatCache? = nil, progress: ((Int64) -> Void)? = nil) throws
        -> (Digest, Int64)
    {
        var st = stat()
        guard stat(file.path, &st) == 0 else { throw storeError("cannot read \(file.path)") }
        let identity = FileIdentity(path: file.path, st)
        if let cached = statCache?.digest(for: identity), contains(cached.0) { return cached }

        let src = open(file.path, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else { throw storeError("cannot open \(file.path)") }
        defer { close(src) }
        let tmp = try temporaryFile()
        let dst = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o444)
        guard dst >= 0 else { throw storeError("cannot create \(tmp.path)") }
        var published = false
        defer {
            close(dst)
            if !published { unlink(tmp.path) }
        }
        var hashed: (Digest, Int64)?
        if Int64(st.st_size) >= Self.trustedObjectSize, flow_clone_file(src, dst) == 0 {
            // XFS, btrfs: the object shares the file's blocks, so nothing is copied. The file is hashed (its pages
            // are the ones in memory); it is the clone's content only if the file did not change meanwhile (the
            // same identity check as the stat cache's), else the clone is dropped and the file copied.
            hashed = try hashFile(src, path: file.path, progress: progress)
            var after = stat()
            if fstat(src, &after) != 0 || FileIdentity(path: file.path, after) != identity {
                hashed = nil
                guard ftruncate(dst, 0) == 0, lseek(src, 0, SEEK_SET) == 0 else {
                    throw storeError("cannot start over storing \(file.path), which changed while it was read")
                }
            }
        }
        let (digest, total) = try hashed ?? copyHashing(src, to: dst, temporary: tmp, file: file,
                                                       size: Int64(st.st_size), progress: progress)
        if contains(digest) {
            unlink(tmp.path)
        } else {
            try publish(fd: dst, temporary: tmp, as: digest)
            // The object was hashed as it was written: reads may trust it while its file is unchanged.
            var written = stat()
            if total >= Self.trustedObjectSize, fstat(dst, &written) == 0 {
                verifiedObjects?.remember(FileIdentity(path: url(for: digest).path, written), digest: digest, size: total)
            }
        }
        published = true
        statCache?.remember(identity, digest: digest, size: total)
        return (digest, total)
    }

    /// Copies `src` to `dst` while hashing it, in one pass; returns the digest and the bytes copied.
    private func copyHashing(_ src: Int32, to dst: Int32, temporary tmp: URL, file: URL, size: Int64,
                             progress: ((Int64) -> Void)?) throws -> (Digest, Int64)
    {
        var hasher = StreamingSHA256()
        var total: Int64 = 0
        // Big files: this thread reads and hashes while another writes the chunk before and the disk catches up.
        let writer = size >= Self.pipelinedSize ? ObjectWriter(fd: dst, path: tmp.path) : nil
        defer { try? writer?.finish() }  // (runs before `dst` is closed, on every path)
        let single = writer == nil ? UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16) : nil
        defer { single?.deallocate() }
        while true {
            let buffer = writer?.take() ?? single!
            let n = read(src, buffer.baseAddress, buffer.count)
            if n <= 0 {
                writer?.giveBack(buffer)
                if n < 0, errno == EINTR { continue }
                if n < 0 { throw storeError("cannot read \(file.path): \(String(cString: strerror(errno)))") }
                break
            }
            let slice = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher.update(slice)
            if let writer {
                writer.submit(buffer, count: n)
            } else {
                try writeAll(dst, slice, path: tmp.path)
            }
            total += Int64(n)
            progress?(total)
        }
        try writer?.finish()
        return (hasher.finalize(), total)
    }

    /// Stores a directory as a Merkle tree of its files; returns the root tree's digest.
    public func putDirectory(_ dir: URL, statCache: StatCache? = nil) throws -> TreeEntry {
        let fm = FileManager.default
        var entries: [TreeEntry] = []
        let names = try fm.contentsOfDirectory(atPath: dir.path)
        for name in names {
            guard !name.contains("\n") else { throw storeError("file name with a newline in \(dir.path)") }
            let child = dir.appendingPathComponent(name)
            var st = stat()
            guard lstat(child.path, &st) == 0 else { throw storeError("cannot stat \(child.path)") }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                var e = try putDirectory(child, statCache: statCache)
                e.name = name
                entries.append(e)
            case S_IFREG:
                let (d, size) = try putFile(child, statCache: statCache)
                entries.append(TreeEntry(name: name, kind: .file, executable: st.st_mode & 0o111 != 0, digest: d, size: size))
            case S_IFLNK:
                let target = try fm.destinationOfSymbolicLink(atPath: child.path)
                let d = try put(Data(target.utf8))
                entries.append(TreeEntry(name: name, kind: .symlink, executable: false, digest: d, size: 0))
            default:
                throw storeError("\(child.path) is not a regular file, directory or symbolic link")
            }
        }
        let tree = Tree(entries: entries)
        let digest = try put(tree.encoded)
        return TreeEntry(name: dir.lastPathComponent, kind: .directory, executable: false, digest: digest, size: tree.size)
    }

    /// Reads and checks a tree object.
    public func tree(_ digest: Digest) throws -> Tree {
        let data = try object(digest)
        guard let tree = Tree.decode(data) else {
            throw storeError("object \(digest.short) is not a tree")
        }
        return tree
    }

    /// Reads an object, verifying its digest (objects read whole are small: trees, refs' targets).
    public func object(_ digest: Digest) throws -> Data {
        guard let data = FileManager.default.contents(atPath: url(for: digest).path) else {
            throw storeError("object \(digest.short) is missing from the store",
                             hint: "run `flow volume fsck`; re-running the step that produced it restores it")
        }
        guard Digest.of(data) == digest else {
            quarantine(digest)
            throw storeError("object \(digest.short) is damaged (its content no longer matches its digest)",
                             hint: "run `flow volume fsck` to list damaged objects; the step that produced it will re-run")
        }
        return data
    }

    /// Writes the tree `digest` out as real files under `destination` (which must not exist), verifying each file.
    public func materialize(tree digest: Digest, to destination: URL) throws {
        let fm = FileManager.default
        try FilePermissions.makeDirectory(destination)
        for entry in try tree(digest).entries {
            let target = destination.appendingPathComponent(entry.name, isDirectory: entry.kind == .directory)
            switch entry.kind {
            case .directory:
                try materialize(tree: entry.digest, to: target)
            case .symlink:
                let link = String(decoding: try object(entry.digest), as: UTF8.self)
                try fm.createSymbolicLink(atPath: target.path, withDestinationPath: link)
            case .file:
                try copyObject(entry.digest, to: target, executable: entry.executable)
            }
        }
    }

    /// Checks that the tree `digest` and everything under it are in the store and intact, writing nothing: file
    /// objects are hashed unless verified before and unchanged since (see `verifiedObjects`). Returns the tree's size.
    @discardableResult
    public func verify(tree digest: Digest) throws -> Int64 {
        let tree = try tree(digest)
        for entry in tree.entries {
            switch entry.kind {
            case .directory: try verify(tree: entry.digest)
            case .symlink: _ = try object(entry.digest)
            case .file: try checkObject(entry.digest, name: entry.name, copyingTo: nil)
            }
        }
        return tree.size
    }

    /// Copies (or clones) one file object out: at disk speed when the object was verified before and is unchanged
    /// since (see `verifiedObjects`), else checking its digest while copying.
    public func copyObject(_ digest: Digest, to target: URL, executable: Bool) throws {
        let dst = open(target.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, executable ? 0o755 : 0o644)
        guard dst >= 0 else { throw storeError("cannot create \(target.path): \(String(cString: strerror(errno)))") }
        defer { close(dst) }
        do {
            try checkObject(digest, name: target.lastPathComponent, copyingTo: (dst, target.path))
        } catch {
            unlink(target.path)
            throw error
        }
    }

    /// Reads a file object through once, checking its digest (unless trusted by identity) and copying it to `out`.
    private func checkObject(_ digest: Digest, name: String, copyingTo out: (fd: Int32, path: String)?) throws {
        let path = url(for: digest).path
        let src = open(path, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else {
            throw storeError("object \(digest.short) (for \(name)) is missing from the store", hint: "run `flow volume fsck`")
        }
        defer { close(src) }
        var st = stat()
        let statted = fstat(src, &st) == 0
        let identity = statted && Int64(st.st_size) >= Self.trustedObjectSize ? FileIdentity(path: path, st) : nil
        if let identity, let known = verifiedObjects?.digest(for: identity), known.0 == digest {
            guard let out else { return }
            if try fastCopy(src, out.fd, size: identity.size, path: out.path) { return }
        }
        // Small objects (most outputs) get a buffer their size, not a fresh 1 MiB mapping each.
        let chunk = statted ? Int(min(max(Int64(st.st_size) + 1, 4096), 1 << 20)) : 1 << 20
        guard try hashFile(src, path: path, chunk: chunk, copyingTo: out).0 == digest else {
            quarantine(digest)
            throw storeError("object \(digest.short) (for \(name)) is damaged",
                             hint: "run `flow volume fsck`; the step that produced it will re-run")
        }
        if let identity { verifiedObjects?.remember(identity, digest: digest, size: identity.size) }
    }

    /// Clones (reflink) or copies `size` bytes in the kernel (copy_file_range); false when neither is possible here
    /// and nothing was written.
    private func fastCopy(_ src: Int32, _ dst: Int32, size: Int64, path: String) throws -> Bool {
        if flow_clone_file(src, dst) == 0 { return true }
        var copied: Int64 = 0
        while copied < size {
            let n = flow_copy_range(src, dst, UInt(min(size - copied, 1 << 30)))
            if n < 0 {
                if errno == EINTR { continue }
                if copied == 0 && [EXDEV, ENOSYS, EOPNOTSUPP, EINVAL].contains(errno) { return false }
                throw storeError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw storeError("cannot copy to \(path): the object ended early", hint: "run `flow volume fsck`") }
            copied += Int64(n)
        }
        return true
    }

    /// Every object digest in the store.
    public func allObjects() -> [Digest] {
        let fm = FileManager.default
        var out: [Digest] = []
        for prefix in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? [] where prefix.count == 2 {
            for rest in (try? fm.contentsOfDirectory(atPath: directory.appendingPathComponent(prefix).path)) ?? [] {
                if let d = Digest(hex: prefix + rest) { out.append(d) }
            }
        }
        return out
    }

    /// Re-hashes an object; false when its content no longer matches.
    public func verify(_ digest: Digest) -> Bool {
        let path = url(for: digest).path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return (try? hashFile(fd, path: path))?.0 == digest
    }

    /// Hashes what is left to read of `fd` (copying it to `out` as it goes, when given); returns the digest and the
    /// bytes read.
    private func hashFile(_ fd: Int32, path: String, chunk: Int = 1 << 20, copyingTo out: (fd: Int32, path: String)? = nil,
                          progress: ((Int64) -> Void)? = nil) throws -> (Digest, Int64)
    {
        var hasher = StreamingSHA256()
        var total: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw storeError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            let slice = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher.update(slice)
            if let out { try writeAll(out.fd, slice, path: out.path) }
            total += Int64(n)
            progress?(total)
        }
        return (hasher.finalize(), total)
    }

    /// Moves a damaged object aside (to `damaged/`), so nothing reads it again and a re-run stores it anew.
    public func quarantine(_ digest: Digest) {
        let dir = directory.appendingPathComponent("damaged", isDirectory: true)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        rename(url(for: digest).path, dir.appendingPathComponent(digest.hex).path)
    }

    /// Temporary files left by interrupted writes.
    public func strayTemporaries() -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []).map {
            temporary.appendingPathComponent($0)
        }
    }

    private func temporaryFile() throws -> URL {
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        return temporary.appendingPathComponent("\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
    }

    private func publish(fd: Int32, temporary tmp: URL, as digest: Digest) throws {
        guard fsync(fd) == 0 else { throw storeError("cannot sync \(tmp.path)") }
        let final = url(for: digest)
        try FileManager.default.createDirectory(at: final.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard rename(tmp.path, final.path) == 0 else { throw storeError("cannot publish object \(digest.short)") }
    }

    private func storeError(_ message: String, hint: String? = nil) -> FlowError {
        FlowError(.internalError, message, hint: hint)
    }
}
