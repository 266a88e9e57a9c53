import Foundation

/// Writes one merged shard in the base shard's exact layout: its header bytes verbatim (the merge changes
/// no dtype or shape, so every offset stays valid; only an appended tensor adds an entry), then each tensor's data
/// in order. Adapted tensors are
/// merged a block of rows at a time, saved modules (`modules_to_save`) converted from the adapter's copy a block
/// at a time; the rest are copied byte for byte from the input's mapping, whose pages are released as soon as
/// they are written (`MappedPageReleaser`) so resident memory stays at one block.
struct MergedShardWriter {
    /// Base tensor name → its adapter pair, for the tensors of this shard that are adapted.
    let pairs: [String: PEFTAdapterPairs.Pair]
    /// Base tensor name → the adapter tensor replacing it, for the tensors of this shard that are saved modules.
    let replacements: [String: String]
    /// A tensor the shard lacks, written after its own with a header entry added (a tied lm_head being untied).
    let appended: AppendedTensor?

    /// A tensor added to the shard, with the dtype and shape of a tensor it has.
    struct AppendedTensor {
        /// Where its values come from.
        enum Source {
            /// The adapter tensor of that name, converted to the dtype of `like`.
            case adapter(String)
            /// The base tensor of that name (in this shard), byte for byte.
            case base(String)
        }

        /// Its name, e.g. `lm_head.weight`.
        var name: String
        /// The base tensor whose dtype and shape it takes.
        var like: String
        var source: Source
    }
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
        var header = try Self.headerBytes(of: input.url)
        if let appended { header = try Self.header(header, of: input, appending: appended) }
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
            if let appended, let like = input.info(appended.like) {
                let bytes = try input.rawBytes(appended.like)
                switch appended.source {
                case .adapter(let name):
                    let scratch = try replace(like, bytes: bytes, with: name, into: output, pages: pages)
                    result.peakScratchBytes = max(result.peakScratchBytes, scratch)
                    result.replaced += 1
                case .base(let name):
                    try copy(try input.rawBytes(name), into: output, pages: pages)
                    result.copied += 1
                }
                result.bytes += bytes.count
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
        return try writeBlocks(info, source: bytes, into: output, pages: pages) { start, part, block in
            let rows = UnsafeRawBufferPointer(start: copy.baseAddress! + (start + part.lowerBound) * columns * copyType.byteSize,
                                              count: part.count * columns * copyType.byteSize)
            SafeTensorsDType.decode(copyType, from: rows.baseAddress!, count: part.count * columns, into: block)
            adapterPages.release(rows)  // the copy streams through too: resident memory stays at one block
        }
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

    /// `header` (length and JSON, as stored) with an entry for `appended` after the last tensor's data, padded with
    /// spaces so the data stays 8-byte aligned.
    private static func header(_ header: Data, of input: SafeTensorsFile, appending appended: AppendedTensor) throws -> Data {
        guard let like = input.info(appended.like),
              var object = (try? JSONSerialization.jsonObject(with: header.dropFirst(8))) as? [String: Any]
        else {
            throw LoRAMergeError(.io, file: input.url.path, "cannot add \(appended.name) to the header: no \(appended.like) or unreadable JSON")
        }
        let end = input.tensors.map(\.dataOffsets.upperBound).max() ?? 0
        object[appended.name] = ["dtype": like.dtype.rawValue, "shape": like.shape,
                                 "data_offsets": [end, end + like.dataOffsets.count]] as [String: Any]
        var json: Data
        do { json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) } catch {
            throw LoRAMergeError(.io, file: input.url.path, "cannot re-encode the header: \(error)")
        }
        json.append(contentsOf: Array(repeating: UInt8(ascii: " "), count: (8 - (8 + json.count) % 8) % 8))
        var length = UInt64(json.count).littleEndian
        return Data(bytes: &length, count: 8) + json
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
