import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Drops the pages of a read-only file mapping from this process once they have been used (the page cache
/// keeps them): without this, streaming a shard through its mapping would count the whole shard in resident
/// memory. Each release reaches `lookBehind` bytes back, because the kernel's fault-around (and large folios)
/// map pages on both sides of a fault, re-mapping some just released.
struct MappedPageReleaser {
    /// The lowest address that may be released (the start of the file's data section, within the mapping).
    private let floor: UInt
    private static let lookBehind: UInt = 2 << 20
    private static let pageSize = UInt(sysconf(Int32(_SC_PAGESIZE)))

    /// A releaser for the mapping of `file`, bounded below by its first tensor's data.
    init(_ file: SafeTensorsFile) throws {
        guard let first = file.tensors.first, let start = try file.rawBytes(first.name).baseAddress else {
            floor = UInt.max
            return
        }
        // Round up: the page holding the header's tail and the data's start is kept.
        floor = (UInt(bitPattern: start) + Self.pageSize - 1) & ~(Self.pageSize - 1)
    }

    /// Releases the pages under `bytes` and up to `lookBehind` bytes before them.
    func release(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let address = UInt(bitPattern: base)
        let start = max(floor, (address - min(address, Self.lookBehind)) & ~(Self.pageSize - 1))
        // The mapping spans whole pages, so rounding the end up stays inside it.
        let end = (address + UInt(bytes.count) + Self.pageSize - 1) & ~(Self.pageSize - 1)
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), MADV_DONTNEED)
    }
}
