import Foundation

/// A Linux network namespace joined to this one by a veth pair, with its own 10.x.y.2 address (this side is
/// 10.x.y.1): a separate "machine" on the network for tests of several hosts. Needs root (CAP_NET_ADMIN) and
/// iproute2's `ip`; removed (link and namespace) when released.
public final class NetworkNamespace: @unchecked Sendable {
    /// The namespace's name (`ip netns list`).
    public let name: String
    /// Its address, reachable from this namespace.
    public let address: String
    private let outside: String

    /// Makes a namespace with a fresh /30 subnet; throws (saying why) where namespaces cannot be made.
    public init() throws {
        let id = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(8)).lowercased()
        name = "flowtest-\(id)"
        outside = "fv\(id)o"
        let inside = "fv\(id)i"
        let used = (try? Self.ip(["-o", "-4", "addr", "show"])) ?? ""
        var subnet = ""
        repeat {
            subnet = "10.\(UInt8.random(in: 200...249)).\(UInt8.random(in: 0...255))"
        } while used.contains(" \(subnet).")
        address = "\(subnet).2"
        do {
            try Self.ip(["netns", "add", name])
            try Self.ip(["link", "add", outside, "type", "veth", "peer", "name", inside])
            try Self.ip(["link", "set", inside, "netns", name])
            try Self.ip(["addr", "add", "\(subnet).1/30", "dev", outside])
            try Self.ip(["link", "set", outside, "up"])
            try Self.ip(["netns", "exec", name, "ip", "addr", "add", "\(address)/30", "dev", inside])
            try Self.ip(["netns", "exec", name, "ip", "link", "set", inside, "up"])
            try Self.ip(["netns", "exec", name, "ip", "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// The executable and arguments that run `executable arguments...` inside the namespace.
    public func command(_ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        (Self.ipTool, ["netns", "exec", name, executable] + arguments)
    }

    private func remove() {
        // Deleting one end of a veth pair deletes both.
        _ = try? Self.ip(["link", "del", outside])
        _ = try? Self.ip(["netns", "del", name])
    }

    static let ipTool = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"

    /// Runs `ip arguments...`; throws with its error output when it fails.
    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        try runTool(ipTool, arguments)
    }
}
