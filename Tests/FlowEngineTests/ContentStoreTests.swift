@testable import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite struct ContentStoreTests {
    /// SHA-256 of a file by coreutils' `sha256sum`, as an independent reference.
    func sha256sum(_ url: URL) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [url.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(String(decoding: out, as: UTF8.self).prefix(64))
    }

    // One size below the pipelined-write threshold, one well above it with a partial last chunk.
    @Test(arguments: [100_003, Int(ContentStore.pipelinedSize) * 2 + 4_194_304 + 12_345])
    func aFileIsStoredUnderItsSHA256AndComesBackIdentical(size: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flow-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { FilePermissions.remove(dir) }
        let input = dir.appendingPathComponent("input.bin")
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        let data = try #require(try random.read(upToCount: size))
        try data.write(to: input)
        let store = ContentStore(directory: dir.appendingPathComponent("objects"))

        let (digest, stored) = try store.putFile(input)
        #expect(stored == Int64(size))
        #expect(digest.hex == (try sha256sum(input)))
        #expect(try sha256sum(store.url(for: digest)) == digest.hex)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("objects/tmp").path)
        #expect(leftovers.isEmpty, "no temporary file is left behind: \(leftovers)")

        let copy = dir.appendingPathComponent("copy.bin")
        try store.copyObject(digest, to: copy, executable: false)
        #expect(try Data(contentsOf: copy) == data)
        // Storing the same bytes again finds the object already there.
        #expect(try store.putFile(input).0 == digest)
    }

    @Test(.enabled(if: LoopFileSystem.available, "needs root, loop devices and mkfs.xfs"))
    func onAFileSystemWithReflinksAnIngestedFileSharesItsBlocksAndItsClonesDigest() throws {
        let xfs = try LoopFileSystem()
        let input = xfs.mountPoint.appendingPathComponent("input.bin")
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        let data = try #require(try random.read(upToCount: (3 << 20) + 777))
        try data.write(to: input)
        let store = ContentStore(directory: xfs.mountPoint.appendingPathComponent("objects"))

        let (digest, size) = try store.putFile(input)
        #expect(size == Int64(data.count))
        #expect(digest.hex == (try sha256sum(input)))
        let object = store.url(for: digest)
        #expect(try LoopFileSystem.sharesBlocks(object), "the object is a clone of the file, not a copy")
        #expect(try Data(contentsOf: object) == data)
        // Changing the file afterwards does not change the stored object (a clone is copy-on-write).
        let handle = try FileHandle(forWritingTo: input)
        try handle.write(contentsOf: Data("changed".utf8))
        try handle.close()
        #expect(try sha256sum(object) == digest.hex)
        #expect(try store.putFile(input).0 != digest)
    }
}
