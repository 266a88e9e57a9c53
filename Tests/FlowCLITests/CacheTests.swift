import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("cache and store") struct CacheTests {
    static func workflow(trainMessage: String = "training") -> String {
        """
        import FlowKit
        import Foundation

        func helper() -> String { "shared helper" }

        let pipe = Workflow("pipe") {
            Param("lr", default: "0.1")
            Param("data", default: "data.txt")
            Command("prepare", "cp {data} {output/prepared}/data.txt && echo same > {output/prepared}/copy.txt")
            Function("train") { ctx in
                let data = try String(contentsOf: ctx.input("prepare/prepared").appendingPathComponent("data.txt"), encoding: .utf8)
                ctx.log.info("\(trainMessage) at lr \\(ctx.lr) on \\(data.count) bytes")
                try "weights \\(ctx.lr)\\n".write(to: ctx.output("adapter").appendingPathComponent("w.txt"), atomically: true, encoding: .utf8)
            }.needs("prepare")
            Function("merge") { ctx in
                let w = try String(contentsOf: ctx.input("train/adapter").appendingPathComponent("w.txt"), encoding: .utf8)
                try w.write(to: ctx.output("merged").appendingPathComponent("m.txt"), atomically: true, encoding: .utf8)
                try "same\\n".write(to: ctx.output("merged").appendingPathComponent("copy.txt"), atomically: true, encoding: .utf8)
            }.needs("train")
            Command("unrelated", "echo {data} > /dev/null")
        }.preprocessing("prepare")
        """
    }

    func statuses(_ p: TemporaryProject) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try p.database().steps(of: try p.lastTag()).map { ($0.name, $0.status.rawValue) })
    }

    @Test func unchangedRunsAreCachedAndEditsRerunOnlyWhatTheyTouch() throws {
        let p = try TemporaryProject("cache")
        try p.write("Workflows/Pipe.swift", Self.workflow())
        try p.write("data.txt", "hello data\n")
        #expect(try p.flow("run").status == 0)
        let first = try p.lastTag()

        let again = try p.flow("run")
        #expect(again.status == 0)
        let all = try statuses(p)
        #expect(all.values.allSatisfy { $0 == "cached" }, "\(all)")
        #expect(again.stdout.contains("cached (from \(first))"))
        let show = try p.flow("runs", "show", try p.lastTag())
        #expect(show.stdout.contains("cached (from \(first))"))

        // Editing train's body re-runs train only: it wrote the same adapter, so merge's inputs did not change
        // and merge stays cached (early cutoff, as in Bazel).
        try p.write("Workflows/Pipe.swift", Self.workflow(trainMessage: "fine-tuning"))
        #expect(try p.flow("run").status == 0)
        #expect(try statuses(p) == ["prepare": "cached", "train": "succeeded", "merge": "cached", "unrelated": "cached"])

        // A parameter re-runs the steps that read it; its value is in `flow runs show`.
        #expect(try p.flow("run", "--lr", "0.2").status == 0)
        #expect(try statuses(p) == ["prepare": "cached", "train": "succeeded", "merge": "succeeded", "unrelated": "cached"])

        // A file named by a parameter is hashed: editing it re-runs what reads it.
        try p.write("data.txt", "new data\n")
        #expect(try p.flow("run", "--lr", "0.2").status == 0)
        #expect(try statuses(p) == ["prepare": "succeeded", "train": "succeeded", "merge": "cached", "unrelated": "succeeded"])

        // --force and --no-cache.
        #expect(try p.flow("run", "--lr", "0.2", "--force", "merge").status == 0)
        #expect(try statuses(p) == ["prepare": "cached", "train": "cached", "merge": "succeeded", "unrelated": "cached"])
        #expect(try p.flow("run", "--lr", "0.2", "--no-cache").status == 0)
        #expect(try statuses(p).values.allSatisfy { $0 == "succeeded" })
    }

    @Test func aStepRunsAloneFromCachedInputs() throws {
        let p = try TemporaryProject("alone")
        try p.write("Workflows/Pipe.swift", Self.workflow())
        try p.write("data.txt", "hello\n")
        #expect(try p.flow("run", "train").status == 0)
        let out = try p.flow("run", "merge")
        #expect(out.status == 0)
        #expect(try statuses(p) == ["prepare": "cached", "train": "cached", "merge": "succeeded"])
        let m = try p.flow("volume", "get", "runs/\(try p.lastTag())/merge/merged/m.txt", "-")
        #expect(m.stdout == "weights 0.1\n")
    }

    @Test func identicalFilesAreStoredOnceAndDamageIsFoundAndNotUsed() throws {
        let p = try TemporaryProject("dedup")
        try p.write("Workflows/Pipe.swift", Self.workflow())
        try p.write("data.txt", "hello\n")
        #expect(try p.flow("run").status == 0)
        let db = try p.database()
        let tag = try p.lastTag()
        let store = ContentStore(directory: p.project.storeDirectory.appendingPathComponent("objects"))
        let same = Digest.of(Data("same\n".utf8))
        #expect(store.contains(same))
        // Both steps wrote copy.txt with the same bytes: one object, referenced by two trees.
        let outputs = try db.outputs(of: tag)
        let preparedRecord = try #require(outputs.first { $0.step == "prepare" })
        let mergedRecord = try #require(outputs.first { $0.step == "merge" })
        let prepared = try store.tree(try #require(Digest(hex: preparedRecord.digest)))
        let merged = try store.tree(try #require(Digest(hex: mergedRecord.digest)))
        #expect(prepared.entries.first { $0.name == "copy.txt" }?.digest == same)
        #expect(merged.entries.first { $0.name == "copy.txt" }?.digest == same)
        #expect(store.allObjects().filter { $0 == same }.count == 1)
        #expect(try p.flow("volume", "fsck").status == 0)

        // Flip a byte of the adapter's weights file.
        let w = Digest.of(Data("weights 0.1\n".utf8))
        let url = store.url(for: w)
        chmod(url.path, 0o644)
        var bytes = try Data(contentsOf: url)
        bytes[0] ^= 0x20
        try bytes.write(to: url)
        let fsck = try p.flow("volume", "fsck")
        #expect(fsck.status == 1)
        #expect(fsck.stdout.contains("damaged object \(w.hex)"))

        // The next run does not use the damaged output: it re-runs train, and says why.
        let rerun = try p.flow("run")
        #expect(rerun.status == 0)
        #expect(try statuses(p)["train"] == "succeeded")
        #expect(try p.flow("logs", try p.lastTag()).stdout.contains("are unusable"))
        #expect(try p.flow("volume", "get", "runs/\(try p.lastTag())/merge/merged/m.txt", "-").stdout == "weights 0.1\n")
    }

    @Test func aVerifiedObjectIsCopiedWithoutRehashingUntilItsFileChanges() throws {
        let p = try TemporaryProject("verified")
        try p.write("Workflows/Pipe.swift", Self.workflow())
        // Large enough to be trusted by identity (small objects are always re-hashed: that is cheaper).
        let text = String(repeating: "prepared bytes\n", count: 100_000)
        try p.write("data.txt", text)
        #expect(try p.flow("run", "--preproc-only").status == 0)
        let store = ContentStore(directory: p.project.storeDirectory.appendingPathComponent("objects"))
        let object = store.url(for: Digest.of(Data(text.utf8))).path
        func remembered() throws -> Bool {
            try p.database().read { db in try Bool.fetchOne(db, sql: "SELECT COUNT(*) > 0 FROM statCache WHERE path = ?", arguments: [object]) } ?? false
        }
        // The first read hashes the object and remembers its identity; later reads trust that identity.
        #expect(try p.flow("volume", "get", "last_run_prepared", "a").status == 0)
        #expect(try remembered())
        #expect(try p.flow("volume", "get", "last_run_prepared", "b").status == 0)
        #expect(try String(contentsOf: p.root.appendingPathComponent("b/data.txt"), encoding: .utf8) == text)
        // Writing to the object changes its identity: the next read hashes again and refuses the damaged bytes.
        chmod(object, 0o644)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: object))
        try handle.write(contentsOf: Data("X".utf8))
        try handle.close()
        let damaged = try p.flow("volume", "get", "last_run_prepared", "c")
        #expect(damaged.status != 0)
        #expect(damaged.stderr.contains("is damaged"), "\(damaged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: p.root.appendingPathComponent("c").path), "nothing half-written")
    }

    @Test func lastRunPreparedIsWrittenOutAndADestinationIsNotOverwritten() throws {
        let p = try TemporaryProject("prepared")
        try p.write("Workflows/Pipe.swift", Self.workflow())
        try p.write("data.txt", "prepared bytes\n")
        #expect(try p.flow("run", "--preproc-only").status == 0)
        let get = try p.flow("volume", "get", "last_run_prepared", "out")
        #expect(get.status == 0, "\(get.stderr)")
        #expect(try String(contentsOf: p.root.appendingPathComponent("out/data.txt"), encoding: .utf8) == "prepared bytes\n")
        let again = try p.flow("volume", "get", "last_run_prepared", "out")
        #expect(again.status == 2)
        #expect(again.stderr.contains("--force"))
        #expect(try p.flow("volume", "get", "last_run_prepared", "out", "--force").status == 0)
        let missing = try p.flow("volume", "get", "last_run_prepard", "x")
        #expect(missing.stderr.contains("did you mean 'last_run_prepared'?"))
    }
}
