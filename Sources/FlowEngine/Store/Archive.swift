import CArchive
import Foundation

/// Reads and writes archives (tar, tar.gz, tar.zst, zip, ...) with libarchive, refusing anything that would
/// escape the destination: `..` or absolute paths, links leaving the tree, device files.
public enum Archive {
    private static let regular: UInt32 = 0o100000, directory: UInt32 = 0o040000, symlink: UInt32 = 0o120000

    /// Whether a file name looks like an archive flow can read.
    public static func isArchive(_ path: String) -> Bool {
        let lower = path.lowercased()
        return [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar.bz2", ".zip"].contains { lower.hasSuffix($0) }
    }

    /// Extracts `archive` into `destination` (which must be empty); on any refusal nothing is left there.
    public static func extract(_ archive: URL, into destination: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: destination, withIntermediateDirectories: true)
        do {
            try extractChecked(archive, into: destination)
        } catch {
            try? fm.removeItem(at: destination)
            throw error
        }
    }

    private static func extractChecked(_ archive: URL, into destination: URL) throws {
        guard let a = archive_read_new() else { throw FlowError(.internalError, "libarchive: out of memory") }
        defer { archive_read_free(a) }
        archive_read_support_format_all(a)
        archive_read_support_filter_all(a)
        guard archive_read_open_filename(a, archive.path, 1 << 16) == ARCHIVE_OK else {
            throw FlowError.config("cannot read archive \(archive.path): \(message(a))")
        }
        var entry: OpaquePointer?
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let rc = archive_read_next_header(a, &entry)
            if rc == ARCHIVE_EOF { break }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let entry else {
                throw FlowError.config("archive \(archive.lastPathComponent) is damaged: \(message(a))")
            }
            guard let rawPath = archive_entry_pathname(entry) else { continue }
            let name = String(decoding: Data(bytes: rawPath, count: strlen(rawPath)), as: UTF8.self)
            let components = try safeComponents(name, archive: archive)
            if components.isEmpty { continue }
            let target = components.reduce(destination) { $0.appendingPathComponent($1) }
            let type = UInt32(archive_entry_filetype(entry))
            if archive_entry_hardlink(entry) != nil {
                throw FlowError.config("archive \(archive.lastPathComponent) entry '\(name)' is a hard link; flow does not import them",
                                       hint: "re-create the archive without hard links (tar --hard-dereference)")
            }
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            switch type {
            case directory:
                try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            case symlink:
                let link = archive_entry_symlink(entry).map { String(cString: $0) } ?? ""
                // The link must resolve inside the tree: relative, and never climbing above the root.
                var depth = components.count - 1
                for part in link.split(separator: "/") {
                    if part == ".." { depth -= 1 } else if part != "." { depth += 1 }
                    if depth < 0 { break }
                }
                guard !link.hasPrefix("/"), depth >= 0 else {
                    throw FlowError.config(
                        "archive \(archive.lastPathComponent) entry '\(name)' is a link to '\(link)', outside the archive",
                        hint: "links must point inside the archived tree")
                }
                try FileManager.default.createSymbolicLink(atPath: target.path, withDestinationPath: link)
            case regular:
                let mode = archive_entry_perm(entry) & 0o111 != 0 ? 0o755 : 0o644
                let fd = open(target.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
                guard fd >= 0 else {
                    throw FlowError.config("archive \(archive.lastPathComponent) entry '\(name)' appears twice or cannot be written")
                }
                defer { close(fd) }
                while true {
                    let n = archive_read_data(a, buffer, 1 << 20)
                    if n == 0 { break }
                    guard n > 0 else { throw FlowError.config("archive \(archive.lastPathComponent) is damaged at '\(name)': \(message(a))") }
                    var off = 0
                    while off < n {
                        let w = write(fd, buffer + off, n - off)
                        guard w > 0 else { throw FlowError(.internalError, "cannot write \(target.path)") }
                        off += w
                    }
                }
            default:
                throw FlowError.config(
                    "archive \(archive.lastPathComponent) entry '\(name)' is a device, FIFO or socket; flow imports only files, folders and links")
            }
        }
    }

    /// The entry's path components; refuses absolute paths and `..`.
    static func safeComponents(_ name: String, archive: URL) throws -> [String] {
        guard !name.hasPrefix("/") else {
            throw FlowError.config("archive \(archive.lastPathComponent) entry '\(name)' has an absolute path",
                                   hint: "archives must hold relative paths")
        }
        let parts = name.split(separator: "/").map(String.init).filter { $0 != "." && !$0.isEmpty }
        guard !parts.contains("..") else {
            throw FlowError.config("archive \(archive.lastPathComponent) entry '\(name)' climbs out with '..'",
                                   hint: "archives must not contain '..' in paths")
        }
        return parts
    }

    /// Writes the folder `source` as an archive whose format follows `file`'s extension (.tar, .tar.gz, .tar.zst, .zip).
    public static func create(_ file: URL, from source: URL) throws {
        try writeArchive(file) { a in try addTree(a, root: source, relative: "") }
    }

    /// Writes the given files under the given archive names as an uncompressed tar stream into `fd` (left open),
    /// e.g. a pipe into `ssh`: each file is read once, and nothing is staged on disk.
    public static func stream(files: [(name: String, url: URL)], to fd: Int32) throws {
        guard let a = archive_write_new() else { throw FlowError(.internalError, "libarchive: out of memory") }
        defer { archive_write_free(a) }
        // 1 MiB writes into the pipe rather than tar's 10 KiB records; the last block is not padded.
        guard archive_write_set_format_pax_restricted(a) == ARCHIVE_OK, archive_write_add_filter_none(a) == ARCHIVE_OK,
              archive_write_set_bytes_per_block(a, 1 << 20) == ARCHIVE_OK,
              archive_write_set_bytes_in_last_block(a, 1) == ARCHIVE_OK, archive_write_open_fd(a, fd) == ARCHIVE_OK
        else { throw FlowError(.internalError, "cannot start an archive stream: \(message(a))") }
        do {
            for (name, url) in files {
                var st = stat()
                guard stat(url.path, &st) == 0, let entry = archive_entry_new() else {
                    throw FlowError(.internalError, "cannot read \(url.path) to archive it")
                }
                defer { archive_entry_free(entry) }
                archive_entry_set_pathname(entry, name)
                archive_entry_set_mtime(entry, 0, 0)
                try addFile(a, entry, url: url, name: name, size: Int64(st.st_size), executable: st.st_mode & 0o111 != 0)
            }
        }
        guard archive_write_close(a) == ARCHIVE_OK else {
            throw FlowError(.internalError, "cannot finish the archive stream: \(message(a))")
        }
    }

    private static func writeArchive(_ file: URL, _ body: (OpaquePointer) throws -> Void) throws {
        guard let a = archive_write_new() else { throw FlowError(.internalError, "libarchive: out of memory") }
        defer { archive_write_free(a) }
        guard archive_write_set_format_filter_by_ext(a, file.path) == ARCHIVE_OK else {
            throw FlowError.config("cannot tell the archive format of \(file.lastPathComponent)",
                                   hint: "use .tar, .tar.gz, .tar.zst or .zip")
        }
        let tmp = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).tmp-\(getpid())")
        guard archive_write_open_filename(a, tmp.path) == ARCHIVE_OK else {
            throw FlowError(.internalError, "cannot write \(file.path): \(message(a))")
        }
        do {
            try body(a)
            guard archive_write_close(a) == ARCHIVE_OK else { throw FlowError(.internalError, "cannot finish \(file.path): \(message(a))") }
            guard rename(tmp.path, file.path) == 0 else { throw FlowError(.internalError, "cannot publish \(file.path)") }
        } catch {
            unlink(tmp.path)
            throw error
        }
    }

    /// Writes one regular file's header and bytes.
    private static func addFile(_ a: OpaquePointer, _ entry: OpaquePointer, url: URL, name: String, size: Int64,
                                executable: Bool) throws {
        archive_entry_set_filetype(entry, regular)
        archive_entry_set_perm(entry, executable ? 0o755 : 0o644)
        archive_entry_set_size(entry, la_int64_t(size))
        guard archive_write_header(a, entry) == ARCHIVE_OK else {
            throw FlowError(.internalError, "cannot archive \(name): \(message(a))")
        }
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FlowError(.internalError, "cannot read \(url.path)") }
        defer { close(fd) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, 1 << 20)
            if n <= 0 { break }
            guard archive_write_data(a, buffer, n) == n else {
                throw FlowError(.internalError, "cannot archive \(name): \(message(a))")
            }
        }
    }

    private static func addTree(_ a: OpaquePointer, root: URL, relative: String) throws {
        let dir = relative.isEmpty ? root : root.appendingPathComponent(relative)
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() {
            let rel = relative.isEmpty ? name : "\(relative)/\(name)"
            let url = root.appendingPathComponent(rel)
            var st = stat()
            guard lstat(url.path, &st) == 0, let entry = archive_entry_new() else { continue }
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, rel)
            archive_entry_set_mtime(entry, 0, 0)
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                archive_entry_set_filetype(entry, directory)
                archive_entry_set_perm(entry, 0o755)
                archive_write_header(a, entry)
                try addTree(a, root: root, relative: rel)
            case S_IFLNK:
                archive_entry_set_filetype(entry, symlink)
                archive_entry_set_perm(entry, 0o777)
                archive_entry_set_symlink(entry, try FileManager.default.destinationOfSymbolicLink(atPath: url.path))
                archive_write_header(a, entry)
            default:
                try addFile(a, entry, url: url, name: rel, size: Int64(st.st_size), executable: st.st_mode & 0o111 != 0)
            }
        }
    }

    private static func message(_ a: OpaquePointer) -> String {
        archive_error_string(a).map { String(cString: $0) } ?? "unknown error"
    }
}
