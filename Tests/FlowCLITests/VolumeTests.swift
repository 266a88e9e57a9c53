import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("volumes") struct VolumeTests {
    func sh(_ command: String, in dir: URL) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test func putVersionsGetArchivesAndGC() throws {
        let p = try TemporaryProject("volumes")
        try p.write("model/config.json", "{\"hidden_size\": 64}\n")
        try p.write("model/weights.bin", String(repeating: "w", count: 100_000))
        try p.write("notes.txt", "v1\n")

        #expect(try p.flow("volume", "put", "pretrained", "model", "base").status == 0)
        #expect(try p.flow("volume", "put", "pretrained", "notes.txt").status == 0)
        let clash = try p.flow("volume", "put", "pretrained", "notes.txt")
        #expect(clash.status == 2)
        #expect(clash.stderr.contains("--force"))
        try p.write("notes.txt", "v2\n")
        #expect(try p.flow("volume", "put", "pretrained", "notes.txt", "--force").status == 0)
        #expect(try p.flow("volume", "get", "pretrained/notes.txt", "-").stdout == "v2\n")
        let versions = try p.flow("volume", "ls", "pretrained", "--versions", "--json")
        let list = try JSONDecoder().decode([VolumeVersion].self, from: Data(versions.stdout.utf8))
        #expect(list.map(\.version) == [3, 2, 1])

        // A tar.gz written by flow reads back with the system tar, and imports into another volume intact.
        #expect(try p.flow("volume", "get", "pretrained/base", "--archive", "base.tar.gz").status == 0)
        #expect(try sh("tar -tzf base.tar.gz | grep -q 'base/weights.bin'", in: p.root) == 0)
        #expect(try p.flow("volume", "put", "copy", "base.tar.gz").status == 0)
        #expect(try p.flow("volume", "get", "copy/base/config.json", "-").stdout == "{\"hidden_size\": 64}\n")
        #expect(try p.flow("volume", "get", "copy/base/weights.bin", "-").stdout.count == 100_000)

        #expect(try p.flow("volume", "rm", "pretrained/notes.txt").status == 0)
        #expect(try p.flow("volume", "get", "pretrained/notes.txt", "-").status == 2)
        #expect(try p.flow("volume", "fsck").status == 0)
        let gc = try p.flow("volume", "gc")
        #expect(gc.status == 0)
        #expect(gc.stdout.contains("dropped 3 old volume versions"), "\(gc.stdout)")
        #expect(try p.flow("volume", "get", "pretrained/base/config.json", "-").status == 0)
    }

    @Test(arguments: [
        ("absolute", "mkdir -p d && echo x > d/f && tar -cPf bad.tar \"$PWD/d/f\""),
        ("dotdot", "echo x > f && tar -cf bad.tar --transform 's,^,../evil/,' f"),
        ("link", "ln -s /etc/passwd escape && tar -cf bad.tar escape"),
        ("device", "mkfifo pipe && tar -cf bad.tar pipe"),
    ])
    func hostileArchivesAreRefusedAndNothingIsWritten(kind: String, make: String) throws {
        let p = try TemporaryProject("evil-\(kind)")
        try FileManager.default.createDirectory(at: p.root.appendingPathComponent("work"), withIntermediateDirectories: true)
        #expect(try sh(make, in: p.root.appendingPathComponent("work")) == 0)
        let out = try p.flow("volume", "put", "data", "work/bad.tar")
        #expect(out.status == 2, "\(kind): \(out.stdout) \(out.stderr)")
        #expect(out.stderr.contains("bad.tar"))
        #expect(try NamedVolumes(store: ContentStore(directory: p.project.storeDirectory.appendingPathComponent("objects")),
                                 database: p.database()).head("data") == nil)
        let tmp = p.project.storeDirectory.appendingPathComponent("objects/tmp")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? []).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: p.root.appendingPathComponent("evil").path))
    }

    @Test func twoRunsOnOneStoreAtOnceBothSucceed() throws {
        let p = try TemporaryProject("concurrent")
        try p.write("Workflows/C.swift", """
            import FlowKit
            let c = Workflow("c") {
                Param("seed", default: "0")
                for i in 0..<6 {
                    Command("s\\(i)", "head -c 200000 /dev/zero > {output/o}/zeros; echo {seed} \\(i) > {output/o}/id")
                }
            }
            """)
        _ = try p.flow("graph")
        let group = DispatchGroup()
        let results = ResultsBox()
        for seed in ["1", "2"] {
            group.enter()
            Thread {
                let out = try? p.flow("run", "--seed", seed)
                results.add(out?.status ?? -1)
                group.leave()
            }.start()
        }
        group.wait()
        #expect(results.values == [0, 0])
        #expect(try p.flow("volume", "fsck").status == 0)
        #expect(try p.database().runs(limit: 10).filter { $0.status == .succeeded }.count == 2)
    }
}

final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Int32] = []
    func add(_ v: Int32) { lock.withLock { stored.append(v) } }
    var values: [Int32] { lock.withLock { stored } }
}

@Suite("volume mounts") struct VolumeMountTests {
    @Test func stepsCommitTheirChangesAndConcurrentWritersToDifferentPathsBothSurvive() throws {
        let p = try TemporaryProject("mounts")
        try p.write("seed.txt", "base\n")
        #expect(try p.flow("volume", "put", "shared", "seed.txt").status == 0)
        try p.write("Workflows/V.swift", """
            import FlowKit
            import Foundation
            let v = Workflow("v") {
                Command("left", "cat {/data}/seed.txt > {/data}/left.txt; echo left > {/data}/both.txt")
                    .volume("/data", "shared")
                Command("right", "echo right > {/data}/right.txt; echo right > {/data}/both.txt")
                    .volume("/data", "shared")
                Function("reader") { ctx in
                    let dir = try ctx.volume("/data")
                    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
                    ctx.log.info("reader sees \\(names.joined(separator: ","))")
                }.volume("/data", "shared").needs("left", "right")
            }
            """)
        let out = try p.flow("run")
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(try p.flow("volume", "get", "shared/left.txt", "-").stdout == "base\n")
        #expect(try p.flow("volume", "get", "shared/right.txt", "-").stdout == "right\n")
        let logs = try p.flow("logs", try p.lastTag()).stdout
        #expect(logs.contains("reader sees both.txt,left.txt,right.txt,seed.txt"))
        #expect(logs.contains("was also changed by another step"))
        let versions = try p.flow("volume", "ls", "shared", "--versions", "--json")
        let list = try JSONDecoder().decode([VolumeVersion].self, from: Data(versions.stdout.utf8))
        #expect(list.count == 3)
        // Both wrote both.txt: the step that committed last (the newest version) wins.
        let last = try #require(list.first).message.contains("/left:") ? "left" : "right"
        #expect(try p.flow("volume", "get", "shared/both.txt", "-").stdout == "\(last)\n")
    }
}
