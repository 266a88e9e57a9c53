import FlowTesting
import Foundation

/// A project whose hosts.toml names `server` as host `loopback`, with its remote root inside the project.
func remoteProject(_ server: SSHServer, _ name: String, workflow: String) throws -> (TemporaryProject, URL) {
    let p = try TemporaryProject(name)
    let remoteRoot = p.root.appendingPathComponent("remote-root")
    try p.write("hosts.toml", server.hostsTOML(name: "loopback", root: remoteRoot))
    try p.write("Workflows/R.swift", workflow)
    return (p, remoteRoot)
}

/// Every file under `root` whose bytes contain `needle`.
func filesContaining(_ needle: String, under root: URL) -> [String] {
    var hits: [String] = []
    let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
    while let url = e?.nextObject() as? URL {
        if let data = FileManager.default.contents(atPath: url.path), data.range(of: Data(needle.utf8)) != nil {
            hits.append(url.path)
        }
    }
    return hits
}
