import Foundation

/// One GPU request: a type (`A100-80GB`, `H100`, or any) and a count, as in Modal's `gpu="A100-80GB:2"`.
public struct GPURequest: Sendable, Equatable, CustomStringConvertible {
    /// nil means any GPU.
    public var type: String?
    public var count: Int

    /// Parses `"A100-80GB:2"`, `"H100"`, `"any"`, `"any:4"`; a malformed spec names the step.
    public init(_ spec: String, step: String) throws {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...2).contains(parts.count), !parts[0].isEmpty,
            parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" })
        else {
            throw FlowError.config("step '\(step)' has gpu \"\(spec)\", which is not TYPE or TYPE:COUNT",
                                   hint: "e.g. \"A100-80GB:2\", \"H100\", \"A10G\" or \"any\"")
        }
        var count = 1
        if parts.count == 2 {
            guard let n = Int(parts[1]), n >= 1, n <= 64 else {
                throw FlowError.config("step '\(step)' has gpu \"\(spec)\": the count must be a whole number from 1 to 64")
            }
            count = n
        }
        type = parts[0].lowercased() == "any" ? nil : parts[0].uppercased()
        self.count = count
    }

    /// Whether a GPU with this device name (as `nvidia-smi` reports it) satisfies the request's type.
    public func matches(deviceName: String) -> Bool {
        guard let type else { return true }
        let tokens = Set(deviceName.uppercased().split { !$0.isLetter && !$0.isNumber }.map(String.init))
        return type.split(separator: "-").allSatisfy { tokens.contains(String($0)) }
    }

    public var description: String { "\(type ?? "any"):\(count)" }
}

/// A machine's GPUs, by index and name.
public struct GPUInventory: Sendable, Equatable {
    public var devices: [(index: Int, name: String)]

    public static func == (a: GPUInventory, b: GPUInventory) -> Bool {
        a.devices.map(\.index) == b.devices.map(\.index) && a.devices.map(\.name) == b.devices.map(\.name)
    }

    public init(devices: [(index: Int, name: String)]) {
        self.devices = devices
    }

    /// GPUs by name, indexed from 0 in order (as hosts.toml declares them).
    public init(names: [String]) {
        devices = names.enumerated().map { ($0.offset, $0.element) }
    }

    /// Parses `nvidia-smi --query-gpu=index,name --format=csv,noheader` output.
    public init(nvidiaSMI output: String) {
        devices = output.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let i = Int(parts[0]) else { return nil }
            return (i, parts[1])
        }
    }

    /// This machine's GPUs from `nvidia-smi` (none when it is absent).
    public static func probeLocal() -> GPUInventory {
        guard let smi = SwiftToolchain.which("nvidia-smi") else { return GPUInventory(devices: []) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: smi)
        p.arguments = ["--query-gpu=index,name", "--format=csv,noheader"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return GPUInventory(devices: []) }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? GPUInventory(nvidiaSMI: String(decoding: data, as: UTF8.self)) : GPUInventory(devices: [])
    }

    /// The first alternative this inventory could ever satisfy, and the devices it would use when `free`.
    public func firstSatisfiable(_ alternatives: [GPURequest]) -> GPURequest? {
        alternatives.first { r in devices.filter { r.matches(deviceName: $0.name) }.count >= r.count }
    }

    /// Picks devices for the first alternative that the free devices satisfy now.
    public func allocate(_ alternatives: [GPURequest], free: Set<Int>) -> [Int]? {
        for r in alternatives {
            let usable = devices.filter { free.contains($0.index) && r.matches(deviceName: $0.name) }.map(\.index)
            if usable.count >= r.count { return Array(usable.prefix(r.count)) }
        }
        return nil
    }

    public var summary: String {
        devices.isEmpty ? "no GPUs" : devices.map { "\($0.index): \($0.name)" }.joined(separator: ", ")
    }
}
