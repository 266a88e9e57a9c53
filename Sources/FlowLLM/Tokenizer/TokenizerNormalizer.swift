import Foundation

/// A `tokenizer.json` normalizer: rewrites each piece of text (between added tokens) before pre-tokenization.
indirect enum TokenizerNormalizer: Sendable {
    case sequence([TokenizerNormalizer])
    case prepend([UInt8])
    case replace(TokenizerSplitPattern, with: [UInt8])
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)

    static func parse(_ field: TokenizerJSONField) throws -> TokenizerNormalizer {
        let type = try field.typeTag()
        switch type {
        case "Sequence":
            return .sequence(try field.required("normalizers").array().map(parse))
        case "Prepend":
            return .prepend(Array(try field.string("prepend").utf8))
        case "Replace":
            return .replace(
                try TokenizerSplitPattern.parse(field.required("pattern")),
                with: Array(try field.string("content").utf8))
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Strip":
            return .strip(
                left: try field.bool("strip_left", default: true),
                right: try field.bool("strip_right", default: true))
        default:
            throw field.error(
                "normalizer type `\(type)` is not supported (supported: Sequence, Prepend, Replace, NFC, NFD, NFKC, "
                    + "NFKD, Lowercase, Strip)")
        }
    }

    /// The normalized form of `bytes`.
    func apply(_ bytes: [UInt8]) -> [UInt8] {
        switch self {
        case .sequence(let steps):
            return steps.reduce(bytes) { $1.apply($0) }
        case .prepend(let prefix):
            return bytes.isEmpty ? bytes : prefix + bytes
        case .replace(let pattern, let content):
            let ranges = bytes.withUnsafeBufferPointer { pattern.matches(in: $0) }
            if ranges.isEmpty { return bytes }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + ranges.count * content.count)
            var last = 0
            for range in ranges {
                out.append(contentsOf: bytes[last..<range.lowerBound])
                out.append(contentsOf: content)
                last = range.upperBound
            }
            out.append(contentsOf: bytes[last...])
            return out
        // Foundation's decompositions are right but its compositions mangle supplementary-plane starters and its
        // compatibility forms skip the reordering of marks a decomposition exposes; so marks are reordered here and
        // composition is the standard library's NFC (`_nfcCodeUnits`, what `String` comparison uses).
        case .nfc: return String(decoding: bytes, as: UTF8.self)._nfcCodeUnits
        case .nfd:
            return Self.canonicallyOrdered(String(decoding: bytes, as: UTF8.self).decomposedStringWithCanonicalMapping)
        case .nfkc:
            let decomposed = Self.canonicallyOrdered(
                String(decoding: bytes, as: UTF8.self).decomposedStringWithCompatibilityMapping)
            return String(decoding: decomposed, as: UTF8.self)._nfcCodeUnits
        case .nfkd:
            return Self.canonicallyOrdered(
                String(decoding: bytes, as: UTF8.self).decomposedStringWithCompatibilityMapping)
        case .lowercase: return Array(String(decoding: bytes, as: UTF8.self).lowercased().utf8)
        case .strip(let left, let right):
            let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
            var lower = 0
            var upper = scalars.count
            if left { while lower < upper, scalars[lower].properties.isWhitespace { lower += 1 } }
            if right { while upper > lower, scalars[upper - 1].properties.isWhitespace { upper -= 1 } }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[lower..<upper])
            return Array(String(view).utf8)
        }
    }

    /// The canonical ordering algorithm: each run of combining marks sorted (stably) by combining class.
    static func canonicallyOrdered(_ text: String) -> [UInt8] {
        var scalars = Array(text.unicodeScalars)
        var start = 0
        while start < scalars.count {
            guard scalars[start].properties.canonicalCombiningClass.rawValue != 0 else {
                start += 1
                continue
            }
            var end = start
            while end < scalars.count && scalars[end].properties.canonicalCombiningClass.rawValue != 0 { end += 1 }
            if end - start > 1 {
                let run = scalars[start..<end].enumerated().sorted {
                    let a = $0.element.properties.canonicalCombiningClass.rawValue
                    let b = $1.element.properties.canonicalCombiningClass.rawValue
                    return a != b ? a < b : $0.offset < $1.offset
                }.map(\.element)
                scalars.replaceSubrange(start..<end, with: run)
            }
            start = end
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return Array(String(view).utf8)
    }
}
