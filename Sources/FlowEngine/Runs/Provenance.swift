import CGit2
import Foundation

/// Where a run came from: the project's git commit and whether the tree was dirty (with a digest of the diff),
/// flow's version, the host, and the fully resolved parameters and inputs.
public struct Provenance: Sendable, Codable, Equatable {
    public var tag: String
    public var workflow: String
    public var workflowFile: String
    public var workflowFileDigest: String
    public var params: [String: String]
    public var targets: [String]
    public var steps: [String]
    public var gitCommit: String?
    public var gitDirty: Bool?
    public var gitDiffDigest: String?
    public var flowVersion: String
    public var host: String
    public var createdAt: Double

    /// Reads the git state of the repository containing `directory` with libgit2; nils outside a repository.
    public static func git(at directory: URL) -> (commit: String?, dirty: Bool?, diffDigest: String?) {
        git_libgit2_init()
        defer { git_libgit2_shutdown() }
        var repo: OpaquePointer?
        guard git_repository_open_ext(&repo, directory.path, 0, nil) == 0, let repo else { return (nil, nil, nil) }
        defer { git_repository_free(repo) }

        var head = git_oid()
        var commit: String?
        var headTree: OpaquePointer?
        if git_reference_name_to_id(&head, repo, "HEAD") == 0 {
            var buf = [CChar](repeating: 0, count: 41)
            git_oid_tostr(&buf, 41, &head)
            commit = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            var c: OpaquePointer?
            if git_commit_lookup(&c, repo, &head) == 0, let c {
                git_commit_tree(&headTree, c)
                git_commit_free(c)
            }
        }
        defer { if let headTree { git_tree_free(headTree) } }

        var options = git_diff_options()
        git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION))
        options.flags = GIT_DIFF_INCLUDE_UNTRACKED.rawValue | GIT_DIFF_SHOW_UNTRACKED_CONTENT.rawValue
            | GIT_DIFF_RECURSE_UNTRACKED_DIRS.rawValue
        var diff: OpaquePointer?
        guard git_diff_tree_to_workdir_with_index(&diff, repo, headTree, &options) == 0, let diff else {
            return (commit, nil, nil)
        }
        defer { git_diff_free(diff) }
        let dirty = git_diff_num_deltas(diff) > 0
        guard dirty else { return (commit, false, nil) }
        var buf = git_buf()
        defer { git_buf_dispose(&buf) }
        guard git_diff_to_buf(&buf, diff, GIT_DIFF_FORMAT_PATCH) == 0, let ptr = buf.ptr else { return (commit, true, nil) }
        let data = Data(bytes: ptr, count: buf.size)
        return (commit, true, Digest.of(data).hex)
    }
}
