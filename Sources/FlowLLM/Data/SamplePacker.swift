/// Sample packing: first-fit, in the given order, into bins of `capacity` tokens (Axolotl's current
/// multipack sampler; not first-fit-decreasing).
public enum SamplePacker {
    /// The bins, each a list of sample indices in insertion order. A sample longer than `capacity` gets a bin alone.
    public static func firstFit(lengths: [Int], capacity: Int) -> [[Int]] {
        var bins: [[Int]] = []
        var free: [Int] = []
        for (index, length) in lengths.enumerated() {
            if let b = free.firstIndex(where: { $0 >= length }) {
                bins[b].append(index)
                free[b] -= length
            } else {
                bins.append([index])
                free.append(max(capacity - length, 0))
            }
        }
        return bins
    }
}
