# Sourced by the benchmarks' run.sh: builds the release FlowRuntime library and compiles a Swift harness against it,
# the way the workflow compiler compiles a workflow file.
# Usage: build_harness MAIN.swift OUTPUT SCRATCH   (from the repository root)
build_harness() {
    local main=$1 output=$2 scratch=$3
    swift build -c release --product FlowRuntime --scratch-path "$scratch" >/dev/null
    local lib="$scratch/release"
    # The clang module maps SwiftPM passed when compiling FlowLLM (COpenBLAS, Crypto's and GRDB's C shims, ...).
    local maps
    maps=$(grep -o '"-fmodule-map-file=[^"]*"' "$lib/description.json" | tr -d '"' | sort -u | sed 's/^/-Xcc /' | tr '\n' ' ')
    # shellcheck disable=SC2086
    swiftc -O -o "$output" "$main" \
        -I "$lib/Modules" -L "$lib" -lFlowRuntime -Xlinker -rpath -Xlinker "$(pwd)/$lib" $maps 2>&1 | grep -v warning || true
}

# The flow binary a benchmark times: the one given, else a release build of this checkout (built first).
# Usage: flow=$(flow_binary "$@")   (from anywhere; prints the absolute path)
flow_binary() {
    if [ $# -ge 1 ]; then realpath "$1"; return; fi
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    (cd "$root" && swift build -c release >/dev/null)
    echo "$root/.build/release/flow"
}
