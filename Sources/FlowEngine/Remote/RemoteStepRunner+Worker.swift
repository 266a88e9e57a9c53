import Foundation

/// Installing the static worker that runs a workflow's Swift functions on the host.
extension RemoteStepRunner {
    /// Where the worker with this digest lives on the host.
    func workerPath(_ digest: Digest) -> String { "\(root)/workers/\(digest.hex)/worker" }

    /// Installs the worker under `<root>/workers/<digest>/` unless the host has it already; returns the bytes sent.
    ///
    /// It goes through `receiveFile` (hashed on the host, moved into place only if it matches), so a worker present on
    /// the host is always complete, and is started once there before it is: one the host cannot start is not installed.
    func installWorker(_ worker: WorkflowCompiler.StaticWorker) async throws -> Int64 {
        let path = workerPath(worker.digest)
        let check = try await transport.run("if [ -x \(shellQuote(path)) ]; then echo FLOW-WORKER-PRESENT; fi")
        guard check.succeeded else { throw remoteError("cannot look for the worker", check) }
        if check.output.contains("FLOW-WORKER-PRESENT") { return 0 }
        let incoming = "\((path as NSString).deletingLastPathComponent).incoming-\(UInt32.random(in: 0...UInt32.max))"
        // Started once with no arguments, it prints its usage (exit 2); the dynamic loader exits 127 when the host
        // lacks a library it links or the glibc version it was linked against.
        let receive = try await receiveFile(worker.binary, digest: worker.digest, incoming: incoming, final: path, mode: "755",
                                            beforePublish: """
            c=0; "$F" > /dev/null 2> "$F.err" < /dev/null || c=$?
            if [ $c = 127 ]; then printf 'FLOW-WORKER-CANNOT-RUN %s\\n' "$(head -c 600 "$F.err" | tr '\\n' ' ')"; rm -f "$F" "$F.err"; exit 4; fi
            rm -f "$F.err"
            """)
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
