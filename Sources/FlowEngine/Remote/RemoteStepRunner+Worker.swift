import Foundation

/// Installing the static worker that runs a workflow's Swift functions on the host.
extension RemoteStepRunner {
    /// Where the worker with this digest lives on the host.
    func workerPath(_ digest: Digest) -> String { "\(root)/workers/\(digest.hex)/worker" }

    /// Installs the worker under `<root>/workers/<digest>/` unless the host has it already; returns the bytes sent.
    ///
    /// It is streamed to a file beside its folder, checked with `sha256sum`, and moved into place only if it matches,
    /// so a worker present on the host is always complete.
    func installWorker(_ worker: WorkflowCompiler.StaticWorker) async throws -> Int64 {
        let path = workerPath(worker.digest)
        let check = try await transport.run("if [ -x \(shellQuote(path)) ]; then echo FLOW-WORKER-PRESENT; fi")
        guard check.succeeded else { throw remoteError("cannot look for the worker", check) }
        if check.output.contains("FLOW-WORKER-PRESENT") { return 0 }
        let dir = (path as NSString).deletingLastPathComponent
        let incoming = "\(dir).incoming-\(UInt32.random(in: 0...UInt32.max))"
        let binary = worker.binary
        let failure = ErrorBox()
        let receive = try await transport.run("""
            set -e; mkdir -p \(shellQuote("\(root)/workers")); cat > \(shellQuote(incoming))
            s=$(sha256sum \(shellQuote(incoming)) | cut -d' ' -f1)
            [ "$s" = \(worker.digest.hex) ] || { rm -f \(shellQuote(incoming)); echo "CORRUPT worker $s"; exit 3; }
            chmod 755 \(shellQuote(incoming)); mkdir -p \(shellQuote(dir)); mv \(shellQuote(incoming)) \(shellQuote(path))
            """, inputWriter: { fd in
                do { try copyFile(binary, to: fd) } catch { failure.record(error) }
            }, timeout: 3600)
        guard receive.succeeded else { throw remoteError("the worker was not received intact", receive) }
        if let error = failure.error { throw error }
        let size = try FileManager.default.attributesOfItem(atPath: worker.binary.path)[.size] as? NSNumber
        return size?.int64Value ?? 0
    }
}

/// Writes the whole of `file` to `fd`.
private func copyFile(_ file: URL, to fd: Int32) throws {
    let handle = try FileHandle(forReadingFrom: file)
    defer { try? handle.close() }
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
        try chunk.withUnsafeBytes { try writeAll(fd, $0, path: "the ssh connection") }
    }
}
