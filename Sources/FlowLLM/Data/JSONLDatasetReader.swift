import Foundation

/// Reads JSONL datasets: one JSON object a line, blank lines skipped, errors at `file:line:`.
public enum JSONLDatasetReader {
    /// All rows of the file at `url`, at most `limit` of them when given.
    public static func read(_ url: URL, limit: Int? = nil) throws -> [DatasetRow] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DatasetError("\(url.path): cannot read the dataset file (\(error.localizedDescription)); check the dataset `path` or pass --data FILE")
        }
        return try parse(data, file: url.path, limit: limit)
    }

    /// Rows of JSONL `data` that came from `file`.
    public static func parse(_ data: Data, file: String, limit: Int? = nil) throws -> [DatasetRow] {
        var rows: [DatasetRow] = []
        var lineNumber = 0
        var start = data.startIndex
        // Editors on Windows often start UTF-8 files with a byte-order mark; JSON does not allow one.
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { start = data.index(start, offsetBy: 3) }
        let newline = UInt8(ascii: "\n")
        while start < data.endIndex {
            if let limit, rows.count >= limit { break }
            let end = data[start...].firstIndex(of: newline) ?? data.endIndex
            lineNumber += 1
            let lineData = data[start..<end]
            start = end < data.endIndex ? data.index(after: end) : end
            if lineData.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            rows.append(try parseLine(Data(lineData), file: file, line: lineNumber))
        }
        return rows
    }

    /// One JSONL line (`line` is its 1-based number in `file`) as a row.
    public static func parseLine(_ line: Data, file: String, line lineNumber: Int) throws -> DatasetRow {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: line, options: [.fragmentsAllowed]) } catch {
            let snippet = String(decoding: line.prefix(60), as: UTF8.self)
            throw DatasetError(file: file, line: lineNumber,
                               "malformed JSON (\(shortReason(error))) in `\(snippet)\(line.count > 60 ? "…" : "")`; each line must be one JSON object")
        }
        guard let dictionary = object as? [String: Any] else {
            throw DatasetError(file: file, line: lineNumber,
                               "expected a JSON object, found \(DatasetValue(foundation: object).kindName); each line must be one JSON object")
        }
        return DatasetRow(file: file, line: lineNumber, fields: dictionary.mapValues(DatasetValue.init(foundation:)))
    }

    private static func shortReason(_ error: Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        return text.count > 120 ? String(text.prefix(120)) + "…" : text
    }
}
