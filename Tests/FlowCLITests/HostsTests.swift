import FlowEngine
import FlowTesting
import Foundation
import Testing

@Suite("hosts over SSH") struct HostsTests {
    @Test func hostsCheckProbesARealSSHServerAndReportsAnUnreachableOne() throws {
        let server = try SSHServer()
        let p = try TemporaryProject("hosts")
        let remoteRoot = p.root.appendingPathComponent("remote-root")
        try p.write("hosts.toml", server.hostsTOML(name: "loopback", root: remoteRoot, extra: "slots = 3")
            + """
            [hosts.nowhere]
            ssh = "\(server.user)@127.0.0.1"
            port = 1
            root = "/tmp/flow-nowhere"

            """)
        let ls = try p.flow("hosts", "ls")
        #expect(ls.stdout.contains("loopback"))
        #expect(ls.stdout.contains("local"))

        let check = try p.flow("hosts", "check", "loopback", "--json")
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let reports = try JSONDecoder().decode([HostReport].self, from: Data(check.stdout.utf8))
        let report = try #require(reports.first)
        #expect(report.reachable)
        #expect(report.rootWritable == true)
        #expect((report.freeDiskBytes ?? 0) > 0)
        #expect(FileManager.default.fileExists(atPath: remoteRoot.path), "the remote root was not created over SSH")

        let all = try p.flow("hosts", "check")
        #expect(all.status == 1)
        #expect(all.stdout.contains("nowhere: unreachable"))
        #expect(all.stdout.contains("loopback: root writable"))

        let typo = try p.flow("hosts", "check", "loopbak")
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("did you mean 'loopback'?"))
    }

    @Test func hostsCheckListsTheLibrariesAnInstalledWorkerLacks() throws {
        let server = try SSHServer()
        let p = try TemporaryProject("hosts-missing")
        let remoteRoot = p.root.appendingPathComponent("remote-root")
        try p.write("hosts.toml", server.hostsTOML(name: "loopback", root: remoteRoot))
        // A real program linked against a library the host does not have (built here, then deleted).
        try p.write("c/gone.c", "int flow_gone(void) { return 7; }\n")
        try p.write("c/main.c", "int flow_gone(void);\nint main(void) { return flow_gone(); }\n")
        let digest = String(repeating: "ab", count: 32)
        let worker = remoteRoot.appendingPathComponent("workers/\(digest)/worker")
        try FileManager.default.createDirectory(at: worker.deletingLastPathComponent(), withIntermediateDirectories: true)
        let lib = try p.run("/usr/bin/env", ["clang", "-shared", "-fPIC", "-o", "c/libflowgone.so", "c/gone.c"])
        let exe = try p.run("/usr/bin/env", ["clang", "-o", worker.path, "c/main.c", "-Lc", "-lflowgone"])
        #expect(lib.status == 0 && exe.status == 0, "\(lib.stderr)\(exe.stderr)")
        try FileManager.default.removeItem(at: p.root.appendingPathComponent("c/libflowgone.so"))

        let check = try p.flow("hosts", "check", "loopback", "--json")
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let report = try #require(try JSONDecoder().decode([HostReport].self, from: Data(check.stdout.utf8)).first)
        #expect(report.workers == [digest])
        #expect(report.missing == ["libflowgone.so"], "\(report.missing)")
        let text = try p.flow("hosts", "check", "loopback").stdout
        #expect(text.contains("1 worker(s) installed") && text.contains("missing: libflowgone.so"), "\(text)")
    }

    @Test func aBadHostsFileNamesTheFileAndKey() throws {
        let p = try TemporaryProject("badhosts")
        try p.write("hosts.toml", "[hosts.box]\nssh = \"a@b\"\nroot = \"/x\"\nslot = 2\n")
        let out = try p.flow("hosts", "ls")
        #expect(out.status == 2)
        #expect(out.stderr.contains("hosts.box.slot"))
        #expect(out.stderr.contains("did you mean 'slots'?"))
        try p.write("hosts.toml", "[hosts.box\nssh = 1\n")
        let broken = try p.flow("hosts", "ls")
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("hosts.toml:1"), "\(broken.stderr)")
    }
}
