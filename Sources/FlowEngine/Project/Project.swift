import Foundation

/// A flow project on disk: its root (the directory holding `Workflows/`) and the paths flow uses inside it.
public struct Project: Sendable {
    public let root: URL
    /// The store: `FLOW_STORE` or `volumes/` in the project (read once: engines ask for it per step).
    public let storeDirectory: URL
    public let databaseURL: URL
    public let logsDirectory: URL
    public let runsDirectory: URL
    public let cacheDirectory: URL

    public init(root: URL) {
        self.root = root.standardizedFileURL
        if let env = ProcessInfo.processInfo.environment["FLOW_STORE"], !env.isEmpty {
            storeDirectory = URL(fileURLWithPath: env, isDirectory: true)
        } else {
            storeDirectory = self.root.appendingPathComponent("volumes", isDirectory: true)
        }
        databaseURL = storeDirectory.appendingPathComponent("flow.db")
        logsDirectory = storeDirectory.appendingPathComponent("logs", isDirectory: true)
        runsDirectory = storeDirectory.appendingPathComponent("runs", isDirectory: true)
        cacheDirectory = storeDirectory.appendingPathComponent("cache", isDirectory: true)
    }

    /// Finds the project containing `directory` (or its parents): the first with a `Workflows/` folder.
    public static func find(from directory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        throws -> Project
    {
        if let env = ProcessInfo.processInfo.environment["FLOW_PROJECT"], !env.isEmpty {
            return Project(root: URL(fileURLWithPath: env))
        }
        var dir = directory.standardizedFileURL
        while true {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Workflows").path, isDirectory: &isDir),
                isDir.boolValue
            {
                return Project(root: dir)
            }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        throw FlowError.config(
            "no flow project here: neither \(directory.path) nor a parent has a Workflows/ folder",
            hint: "run flow from your project (the folder with Workflows/), or set FLOW_PROJECT")
    }

    public var workflowsDirectory: URL { root.appendingPathComponent("Workflows", isDirectory: true) }
    public var secretsDirectory: URL { root.appendingPathComponent("secrets", isDirectory: true) }

    /// A path relative to the root when it is inside the project, for messages.
    public func display(_ path: String) -> String {
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
