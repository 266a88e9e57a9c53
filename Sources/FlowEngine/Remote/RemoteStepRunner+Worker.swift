import Foundation

/// Installing the static worker that runs a workflow's Swift functions on the host.
extension RemoteStepRunner {
    /// Where the worker with this digest lives on the host.
    func workerPath(_ digest: Digest) -> String { "\(root)/workers/\(digest.hex)/worker" }

    /// Installs the worker under `<root>/workers/<digest>/` unless the host has it already; returns the bytes sent.
    ///
    /// ssh reads it straight from its file; it lands beside its folder on the host, is hashed there (OpenSSL, or
    /// `sha256sum`), and is moved into place only if it matches, so a worker present on the host is always complete.
    func installWorker(_ worker: WorkflowCompiler.StaticWorker) async throws -> Int64 {
        let path = workerPath(worker.digest)
        let check = try await transport.run("if [ -x \(shellQuote(path)) ]; then echo FLOW-WORKER-PRESENT; fi")
        guard check.succeeded else { throw remoteError("cannot look for the worker", check) }
        if check.output.contains("FLOW-WORKER-PRESENT") { return 0 }
        let dir = (path as NSString).deletingLastPathComponent
        let incoming = "\(dir).incoming-\(UInt32.random(in: 0...UInt32.max))"
        let receive = try await transport.run("""
            set -e; mkdir -p \(shellQuote("\(root)/workers"))
            if command -v openssl >/dev/null 2>&1; then H="openssl dgst -sha256 -r"; else H=sha256sum; fi
            cat > \(shellQuote(incoming))
            s=$($H \(shellQuote(incoming)) | cut -c1-64)
            [ "$s" = \(worker.digest.hex) ] || { rm -f \(shellQuote(incoming)); echo "CORRUPT worker $s"; exit 3; }
            chmod 755 \(shellQuote(incoming))
            # Started once with no arguments, it prints its usage (exit 2); the dynamic loader exits 127 when the
            # host lacks a library it links or the glibc version it was linked against.
            c=0; \(shellQuote(incoming)) > /dev/null 2> \(shellQuote(incoming)).err < /dev/null || c=$?
            if [ $c = 127 ]; then printf 'FLOW-WORKER-CANNOT-RUN %s\\n' "$(head -c 600 \(shellQuote(incoming)).err | tr '\\n' ' ')"; rm -f \(shellQuote(incoming)) \(shellQuote(incoming)).err; exit 4; fi
            rm -f \(shellQuote(incoming)).err; mkdir -p \(shellQuote(dir)); mv \(shellQuote(incoming)) \(shellQuote(path))
            """, inputFile: worker.binary, timeout: 3600)
        if let line = receive.output.first(where: { $0.hasPrefix("FLOW-WORKER-CANNOT-RUN ") }) {
            let why = line.dropFirst("FLOW-WORKER-CANNOT-RUN ".count).trimmingCharacters(in: .whitespaces)
                .replacingOccurrences(of: "\(incoming): ", with: "")
            throw FlowError(
                .stepFailed,
                "the workflow's worker cannot start on \(transport.host.name): \(why). It was linked on this machine "
                    + "against its glibc and its OpenBLAS, SQLite and C++ runtime libraries; install those on the host "
                    + "(`flow hosts check \(transport.host.name)` lists what it lacks), or run flow from a system no newer "
                    + "than the host's")
        }
        guard receive.succeeded else { throw remoteError("the worker was not received intact", receive) }
        let size = try FileManager.default.attributesOfItem(atPath: worker.binary.path)[.size] as? NSNumber
        return size?.int64Value ?? 0
    }
}
