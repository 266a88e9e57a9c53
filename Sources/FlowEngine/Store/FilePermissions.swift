import Foundation

/// Makes finished outputs read-only, so a later step reading them as inputs cannot change them by accident.
enum FilePermissions {
    /// Removes write permission from everything under `url`.
    static func makeReadOnly(_ url: URL) {
        walk(url) { path, isDir in chmod(path, isDir ? 0o555 : (isExecutable(path) ? 0o555 : 0o444)) }
    }

    /// Restores the owner's write permission under `url`, so it can be replaced or deleted.
    static func makeWritable(_ url: URL) {
        walk(url) { path, isDir in chmod(path, isDir ? 0o755 : (isExecutable(path) ? 0o755 : 0o644)) }
    }

    /// Deletes `url` even where it was made read-only.
    static func remove(_ url: URL) {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        makeWritable(url)
        try? FileManager.default.removeItem(at: url)
    }

    private static func isExecutable(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & 0o111 != 0
    }

    private static func walk(_ url: URL, _ body: (String, Bool) -> Void) {
        var st = stat()
        guard lstat(url.path, &st) == 0 else { return }
        let isDir = st.st_mode & S_IFMT == S_IFDIR
        if st.st_mode & S_IFMT == S_IFLNK { return }
        if isDir {
            // Parents first when making writable (so children can be listed), last when making read-only.
            body(url.path, true)
            chmod(url.path, 0o755)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] {
                walk(url.appendingPathComponent(name), body)
            }
        }
        body(url.path, isDir)
    }
}
