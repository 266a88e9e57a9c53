import Crypto
import Foundation

/// A SHA-256 content digest, as lowercase hex.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let hex: String

    public init?(hex: String) {
        guard hex.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            return nil
        }
        self.hex = hex
    }

    init(_ digest: SHA256.Digest) { hex = digest.hexString }

    init(bytes: [UInt8]) { hex = bytes.hexString }

    /// The digest of some bytes.
    public static func of(_ data: some DataProtocol) -> Digest { Digest(SHA256.hash(data: data)) }

    public var description: String { hex }
    public var short: String { String(hex.prefix(12)) }

    public static func < (a: Digest, b: Digest) -> Bool { a.hex < b.hex }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let d = Digest(hex: s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a digest: \(s)"))
        }
        self = d
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}

/// One entry of a directory tree: name, kind, executable bit, digest and size.
public struct TreeEntry: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case file, directory, symlink }
    public var name: String
    public var kind: Kind
    public var executable: Bool
    public var digest: Digest
    /// Bytes of the file, or of all files below a directory.
    public var size: Int64

    /// The canonical line this entry contributes to its tree object.
    var line: String {
        let mode = kind == .directory ? "40000" : kind == .symlink ? "120000" : executable ? "100755" : "100644"
        return "\(mode) \(size) \(digest.hex) \(name)\n"
    }

    static func parse(_ line: Substring) -> TreeEntry? {
        let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, let size = Int64(parts[1]), let digest = Digest(hex: String(parts[2])) else { return nil }
        let kind: Kind = parts[0] == "40000" ? .directory : parts[0] == "120000" ? .symlink : .file
        return TreeEntry(name: String(parts[3]), kind: kind, executable: parts[0] == "100755", digest: digest, size: size)
    }
}

/// A directory's listing: entries sorted by name; its digest is the digest of its canonical encoding.
public struct Tree: Sendable, Equatable {
    public var entries: [TreeEntry]

    public init(entries: [TreeEntry]) {
        self.entries = entries.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// The canonical bytes: a header line, then one line per entry.
    public var encoded: Data {
        Data(("flow-tree 1\n" + entries.map(\.line).joined()).utf8)
    }

    public var size: Int64 { entries.reduce(0) { $0 + $1.size } }

    public static func decode(_ data: Data) -> Tree? {
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first == "flow-tree 1" else { return nil }
        lines.removeFirst()
        if lines.last == "" { lines.removeLast() }
        var entries: [TreeEntry] = []
        for line in lines {
            guard let e = TreeEntry.parse(line) else { return nil }
            entries.append(e)
        }
        return Tree(entries: entries)
    }
}
