import Foundation

/// Writes one merged shard in the base shard's exact layout: its header bytes verbatim (the merge changes
/// no dtype or shape, so every offset stays valid), then each tensor's data in order. Adapted tensors are
/// merged a block of rows at a time, saved modules (`modules_to_save`) converted from the adapter's copy a block
/// at a time; the rest are copied byte for byte from the input's mapping, whose pages are released as soon as
/// they are written (`MappedPageReleaser`) so resident memory stays at one block.
struct MergedShardWriter {
    /// Base tensor name → its adapter pair, for the tensors of this shard that are adapted.
    let pairs: [String: PEFTAdapterPairs.Pair]
    /// Base tensor name → the adapter tensor replacing it, for the tensors of this shard that are saved modules.
    let replacements: [String: String]
    let adapter: PEFTAdapterPairs
    let adapterPages: MappedPageReleaser
    let threads: ComputeThreads
    /// Elements of W decoded to F32 at once (rounded down to whole rows, at least one row).
    let blockElements: Int

    /// Counts for the summary.
    struct Result {
        var merged = 0
        var replaced = 0
        var copied = 0
        var bytes = 0
        var peakScratchBytes = 0
    }

    private static let copyChunkBytes = 16 << 20

    /// Writes `input` merged into a new file at `url`; `afterTensor` gets each tensor's byte count.
    func write(_ input: SafeTensorsFile, to url: URL, afterTensor: (Int) -> Void) throws -> Result {
        let header = try Self.headerBytes(of: input.url)
        let pages = try MappedPageReleaser(input)
        let output = try MergeOutputFile(creating: url)
        var result = Result()
        do {
            try header.withUnsafeBytes { try output.write($0) }
            result.bytes += header.count
            for info in input.tensors {
                let bytes = try input.rawBytes(info.name)
                if let pair = pairs[info.name] {
                    let scratch = try merge(info, bytes: bytes, pair: pair, into: output, pages: pages)
                    result.peakScratchBytes = max(result.peakScratchBytes, scratch)
                    result.merged += 1
                } else if let replacement = replacements[info.name] {
                    let scratch = try replace(info, bytes: bytes, with: replacement, into: output, pages: pages)
                    result.peakScratchBytes = max(result.peakScratchBytes, scratch)
                    result.replaced += 1
                } else {
                    try copy(bytes, into: output, pages: pages)
                    result.copied += 1
                }
                result.bytes += bytes.count
                afterTensor(bytes.count)
            }
            try output.close()
        } catch {
            output.abandon()
            throw error
        }
        return result
    }

    /// W + scaling · B·A in F32, one block of rows at a time, encoded back to W's dtype.
    /// - Returns: the F32 scratch bytes held (block, A and B).
    private func merge(_ info: SafeTensorsTensorInfo, bytes: UnsafeRawBufferPointer, pair: PEFTAdapterPairs.Pair,
                       into output: MergeOutputFile, pages: MappedPageReleaser) throws -> Int {
        let (rows, columns) = (info.shape[0], info.shape[1])
        let rank = adapter.config.rank
        let scaling = adapter.config.scaling
        let a = try adapter.file.tensor(pair.aName, expectedShape: [rank, columns])  // [r, in]
        let b = try adapter.file.tensor(pair.bName, expectedShape: [rows, rank])  // [out, r]
        for name in [pair.aName, pair.bName] { adapterPages.release(try adapter.file.rawBytes(name)) }
        let scratch = try writeBlocks(info, source: bytes, into: output, pages: pages) { start, part, block in
            // block[part, in] = W[start + part, in] + scaling · B[start + part, r] · A[r, in]
            SafeTensorsDType.decode(info.dtype, from: bytes.baseAddress! + (start + part.lowerBound) * columns * info.dtype.byteSize,
                                    count: part.count * columns, into: block)
            GEMM.sgemm(m: part.count, n: columns, k: rank, alpha: scaling, a: b.data + (start + part.lowerBound) * rank, lda: rank,
                       b: a.data, ldb: columns, beta: 1, c: block, ldc: columns)
        }
        return scratch + (a.count + b.count) * 4
    }

    /// The adapter's trained copy of a saved module in place of W, one block of rows at a time, in W's dtype.
    /// - Returns: the scratch bytes held.
    private func replace(_ info: SafeTensorsTensorInfo, bytes: UnsafeRawBufferPointer, with name: String,
                         into output: MergeOutputFile, pages: MappedPageReleaser) throws -> Int {
        let copy = try adapter.file.rawBytes(name)
        let copyType = adapter.file.info(name)!.dtype
        let columns = info.shape[1]
        let scratch = try writeBlocks(info, source: bytes, into: output, pages: pages) { start, part, block in
            let first = (start + part.lowerBound) * columns
            SafeTensorsDType.decode(copyType, from: copy.baseAddress! + first * copyType.byteSize, count: part.count * columns,
                                    into: block)
        }
        adapterPages.release(copy)
        return scratch
    }

    /// Writes the tensor `info` (data `source`) as `fill` computes it in F32, a block of rows at a time, encoded to
    /// its dtype; `fill(start, rows, block)` fills `block` with rows `start + rows` (split over the threads).
    /// - Returns: the scratch bytes held (the F32 block and its encoded copy).
    private func writeBlocks(_ info: SafeTensorsTensorInfo, source bytes: UnsafeRawBufferPointer, into output: MergeOutputFile,
                             pages: MappedPageReleaser,
                             fill: (_ start: Int, _ rows: Range<Int>, _ block: UnsafeMutablePointer<Float>) -> Void) throws -> Int {
        let (rows, columns) = (info.shape[0], info.shape[1])
        let size = info.dtype.byteSize
        let blockRows = max(1, min(rows, blockElements / max(columns, 1)))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * columns)
        defer { scratch.deallocate() }
        // F32 blocks are written straight from the scratch; 16-bit ones need an encoded copy.
        let encoded = info.dtype == .f32 ? nil : UnsafeMutableRawPointer.allocate(byteCount: blockRows * columns * size, alignment: 16)
        defer { encoded?.deallocate() }
        guard let source = bytes.baseAddress else { return 0 }

        var start = 0
        while start < rows {
            let count = min(blockRows, rows - start)
            threads.withSingleThreadedBLAS {
                threads.forRanges(count, minimum: 8) { part in
                    let offset = part.lowerBound * columns
                    fill(start, part, scratch + offset)
                    if let encoded {
                        SafeTensorsDType.encode(info.dtype, from: scratch + offset, count: part.count * columns,
                                                into: encoded + offset * size)
                    }
                }
            }
            let blockBytes = count * columns * size
            try output.write(UnsafeRawBufferPointer(start: encoded ?? UnsafeMutableRawPointer(scratch), count: blockBytes))
            pages.release(UnsafeRawBufferPointer(start: source + start * columns * size, count: blockBytes))
            start += count
        }
        return blockRows * columns * 4 + (encoded == nil ? 0 : blockRows * columns * size)
    }

    private func copy(_ bytes: UnsafeRawBufferPointer, into output: MergeOutputFile, pages: MappedPageReleaser) throws {
        var start = 0
        while start < bytes.count {
            let chunk = UnsafeRawBufferPointer(rebasing: bytes[start..<min(bytes.count, start + Self.copyChunkBytes)])
            try output.write(chunk)
            pages.release(chunk)
            start += chunk.count
        }
    }

    /// The 8-byte length and the JSON header of the safetensors file at `url`, as stored.
    private static func headerBytes(of url: URL) throws -> Data {
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            let prefix = try handle.read(upToCount: 8) ?? Data()
            let length = prefix.count == 8 ? prefix.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) } : 0
            let json = try handle.read(upToCount: Int(length)) ?? Data()
            guard prefix.count == 8, json.count == Int(length) else {
                throw LoRAMergeError(.io, file: url.path, "the header is shorter than it declares; was the file changed during the merge?")
            }
            return prefix + json
        } catch let error as LoRAMergeError {
            throw error
        } catch {
            throw LoRAMergeError(.io, file: url.path, "cannot read the header: \(error.localizedDescription)")
        }
    }
}
