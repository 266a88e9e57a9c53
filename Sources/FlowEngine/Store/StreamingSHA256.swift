import CLibCrypto

/// SHA-256 over a stream of buffers through the system's libcrypto (OpenSSL), which uses the CPU's SHA
/// instructions where there are some: the store hashes every byte it ingests or verifies with it.
struct StreamingSHA256: ~Copyable {
    private let context: OpaquePointer

    init() {
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            fatalError("libcrypto cannot set up SHA-256")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        EVP_DigestUpdate(context, base, buffer.count)
    }

    consuming func finalize() -> Digest {
        var bytes = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        EVP_DigestFinal_ex(context, &bytes, &length)
        return Digest(bytes: bytes)
    }
}
