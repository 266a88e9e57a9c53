import Foundation

/// What a workflow binary linked with the static Swift runtime needs from the flow build.
extension SwiftToolchain {
    /// FlowKit, FlowLLM and their package dependencies as one archive (the `FlowRuntimeStatic` product).
    public var staticRuntime: URL { buildDirectory.appendingPathComponent("libFlowRuntimeStatic.a") }

    /// The `-L` and `-l` flags SwiftPM passed when it linked `libFlowRuntime.so` (pkg-config's for OpenBLAS and
    /// the like), read from its build manifest (`<scratch>/<configuration>.yaml`); empty when that is missing.
    func systemLinkFlags() -> [String] {
        let scratch = buildDirectory.deletingLastPathComponent().deletingLastPathComponent()
        let manifest = scratch.appendingPathComponent("\(buildDirectory.lastPathComponent).yaml")
        guard let text = try? String(contentsOf: manifest, encoding: .utf8) else { return [] }
        let output = "\"-o\",\"\(buildDirectory.appendingPathComponent("libFlowRuntime.so").path)\""
        for line in text.split(separator: "\n") where line.contains(output) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("args: "),
                let args = try? JSONDecoder().decode([String].self, from: Data(trimmed.dropFirst(6).utf8))
            else { continue }
            return Self.librarySearchFlags(args, excluding: buildDirectory.path)
        }
        return []
    }

    /// Keeps `-L DIR`, `-LDIR` and `-lNAME` from a link command, except the search path `excluding`.
    static func librarySearchFlags(_ args: [String], excluding: String) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "-L", i + 1 < args.count {
                if args[i + 1] != excluding { out.append("-L" + args[i + 1]) }
                i += 2
                continue
            }
            if (a.hasPrefix("-L") && a != "-L" + excluding) || a.hasPrefix("-l") { out.append(a) }
            i += 1
        }
        return out
    }
}
