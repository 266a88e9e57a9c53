import Crypto
import Foundation

/// Where the FlowRuntime library and its modules are, and the flags a workflow file compiles with.
///
/// It reads SwiftPM's own record of how it compiled FlowLLM (`description.json` in the build directory) for the
/// module maps of C dependencies, so a workflow compiles exactly as a target of this package would.
public struct SwiftToolchain: Sendable {
    public let buildDirectory: URL
    /// Changes whenever the runtime library, its modules or the compiler change.
    public let fingerprint: String

    /// Finds the build directory: `FLOW_BUILD_DIR`, else the folder of the running executable.
    public static func locate() throws -> SwiftToolchain {
        let env = ProcessInfo.processInfo.environment
        var candidates: [URL] = []
        if let dir = env["FLOW_BUILD_DIR"], !dir.isEmpty { candidates.append(URL(fileURLWithPath: dir)) }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        for dir in candidates {
            let lib = dir.appendingPathComponent("libFlowRuntime.so")
            let module = dir.appendingPathComponent("Modules/FlowKit.swiftmodule")
            if FileManager.default.fileExists(atPath: lib.path), FileManager.default.fileExists(atPath: module.path) {
                return try SwiftToolchain(buildDirectory: dir.resolvingSymlinksInPath())
            }
        }
        throw FlowError.config(
            "cannot find libFlowRuntime.so and Modules/FlowKit.swiftmodule next to the flow executable "
                + "(looked in \(candidates.map(\.path).joined(separator: ", ")))",
            hint: "build flow with `swift build` (it builds the FlowRuntime library too), or set FLOW_BUILD_DIR")
    }

    init(buildDirectory: URL) throws {
        self.buildDirectory = buildDirectory
        // Only file identities here: parsing SwiftPM's 1 MB+ description.json is left to `compileSettings()`,
        // which runs only when a workflow must actually be compiled.
        var hasher = SHA256()
        for path in [
            buildDirectory.appendingPathComponent("libFlowRuntime.so").path,
            buildDirectory.appendingPathComponent("libFlowRuntimeStatic.a").path,
            buildDirectory.appendingPathComponent("Modules/FlowKit.swiftmodule").path,
            buildDirectory.appendingPathComponent("Modules/FlowLLM.swiftmodule").path,
            buildDirectory.appendingPathComponent("description.json").path,
        ] {
            let attrs = try? FileManager.default.attributesOfItem(atPath: path)
            let size = (attrs?[.size] as? NSNumber)?.int64Value ?? -1
            let mtime = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            hasher.update(data: Data("\(path)|\(size)|\(mtime)\n".utf8))
        }
        hasher.update(data: Data((ProcessInfo.processInfo.environment["SWIFTC"] ?? "").utf8))
        fingerprint = hasher.finalize().hexString
    }

    /// The compiler and the flags a workflow file compiles with, from SwiftPM's record of how it compiled FlowLLM.
    public func compileSettings() -> (swiftc: String, flags: [String]) {
        let description = buildDirectory.appendingPathComponent("description.json")
        var swiftc = ProcessInfo.processInfo.environment["SWIFTC"] ?? ""
        var flags: [String] = []
        if let data = try? Data(contentsOf: description),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let commands = json["swiftCommands"] as? [String: Any]
        {
            for case let command as [String: Any] in commands.values where command["moduleName"] as? String == "FlowLLM" {
                if swiftc.isEmpty, let exe = command["executable"] as? String { swiftc = exe }
                flags = Self.dependencyFlags(command["otherArguments"] as? [String] ?? [])
            }
        }
        if swiftc.isEmpty { swiftc = Self.which("swiftc") ?? "swiftc" }
        return (swiftc, flags)
    }

    /// Keeps the arguments that make C dependency modules visible: module maps and include paths.
    static func dependencyFlags(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "-Xcc", i + 1 < args.count {
                let b = args[i + 1]
                if b.hasPrefix("-fmodule-map-file=") {
                    out += [a, b]
                    i += 2
                    continue
                }
                if b == "-I", i + 3 < args.count, args[i + 2] == "-Xcc" {
                    out += [a, b, args[i + 2], args[i + 3]]
                    i += 4
                    continue
                }
                i += 2
                continue
            }
            if a.hasPrefix("-I"), a.count > 2 { out.append(a) }
            i += 1
        }
        return out
    }

    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal.
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
