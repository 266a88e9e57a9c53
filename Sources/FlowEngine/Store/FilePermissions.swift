import Foundation

/// Makes finished outputs read-only, so a later step reading them as inputs cannot change them by accident.
enum FilePermissions {
    /// Removes write permission from everything under `url`.
    static func makeReadOnly(_ url: URL) {
        walk(url, parentsFirst: false) { path, st in
            let dir = st.st_mode & S_IFMT == S_IFDIR
            setMode(path, st, dir || st.st_mode & 0o111 != 0 ? 0o555 : 0o444)
        }
    }

    /// Restores the owner's write permission under `url`, so it can be replaced or deleted.
    static func makeWritable(_ url: URL) {
        walk(url, parentsFirst: true) { path, st in
            let dir = st.st_mode & S_IFMT == S_IFDIR
            setMode(path, st, dir || st.st_mode & 0o111 != 0 ? 0o755 : 0o644)
        }
    }

    /// Deletes `url` even where it was made read-only.
    static func remove(_ url: URL) {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        makeWritable(url)
        try? FileManager.default.removeItem(at: url)
    }

    /// Creates the directory `url` (and its parents when they are missing); fine when it already exists.
    static func makeDirectory(_ url: URL) throws {
        if mkdir(url.path, 0o755) == 0 { return }
        var st = stat()
        if errno == EEXIST, stat(url.path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { return }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    private static func setMode(_ path: String, _ st: stat, _ mode: mode_t) {
        if st.st_mode & 0o7777 != mode { chmod(path, mode) }
    }

    /// Calls `body` for `url` and everything under it (symbolic links left alone): directories before their
    /// contents when making writable (so they can be listed), after them when making read-only.
    private static func walk(_ url: URL, parentsFirst: Bool, _ body: (String, stat) -> Void) {
        var st = stat()
        guard lstat(url.path, &st) == 0, st.st_mode & S_IFMT != S_IFLNK else { return }
        guard st.st_mode & S_IFMT == S_IFDIR else { return body(url.path, st) }
        if parentsFirst {
            body(url.path, st)
        } else if st.st_mode & 0o500 != 0o500 {
            chmod(url.path, (st.st_mode & 0o7777) | 0o500)  // listable, so its contents can be reached
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] {
            walk(url.appendingPathComponent(name, isDirectory: false), parentsFirst: parentsFirst, body)
        }
        if !parentsFirst {
            _ = lstat(url.path, &st)
            body(url.path, st)
        }
    }
}
