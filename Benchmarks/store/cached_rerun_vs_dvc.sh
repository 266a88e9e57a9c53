#!/usr/bin/env bash
# Fully cached re-run of a 1,000-step pipeline: `flow run` side by side with `dvc repro` on an equivalent
# 1,000-stage dvc.yaml (each stage reads the previous stage's output file and writes its own).
# Needs dvc in a virtual environment outside the repo:  python3 -m venv /work/venv-dvc && /work/venv-dvc/bin/pip install dvc
# Usage: Benchmarks/store/cached_rerun_vs_dvc.sh FLOW_BINARY [DVC_BINARY] [STEPS]
set -euo pipefail
flow="$(realpath "$1")"
dvc="${2:-/work/venv-dvc/bin/dvc}"
n="${3:-1000}"
work="$(mktemp -d /tmp/flow-bench-dvc.XXXXXX)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/flow/Workflows"
cat > "$work/flow/Workflows/Chain.swift" <<SWIFT
import FlowKit
let chain = Workflow("chain") {
    for i in 0..<$n {
        Command("s\(i)", i == 0 ? "echo 0 > {output/o}/f" : "cat {s\(i - 1)/o}/f > {output/o}/f; echo \(i) >> {output/o}/f")
    }
}
SWIFT

mkdir -p "$work/dvc"
(
    cd "$work/dvc"
    git init -q . && "$dvc" init -q && "$dvc" config core.analytics false
    {
        echo "stages:"
        for i in $(seq 0 $((n - 1))); do
            echo "  s$i:"
            if [ "$i" = 0 ]; then
                echo "    cmd: echo 0 > o0"
            else
                echo "    cmd: cat o$((i - 1)) > o$i; echo $i >> o$i"
                echo "    deps: [o$((i - 1))]"
            fi
            echo "    outs: [o$i]"
        done
    } > dvc.yaml
)

t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
cold_flow=$(cd "$work/flow" && t "$flow" run)
cold_dvc=$(cd "$work/dvc" && t "$dvc" repro)
warm_flow=$(cd "$work/flow" && t "$flow" run)
warm_dvc=$(cd "$work/dvc" && t "$dvc" repro)
# Check both really were cached: flow ran nothing, dvc reports nothing changed.
(cd "$work/flow" && "$flow" runs show "$("$flow" runs --json --limit 1 | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["tag"])')" | grep -c ' cached ' | sed 's/^/flow cached steps: /')
printf '%-6s %10s %14s\n' tool "first s" "cached re-run s"
printf '%-6s %10.2f %14.3f\n' flow "$cold_flow" "$warm_flow"
printf '%-6s %10.2f %14.3f\n' dvc "$cold_dvc" "$warm_dvc"
printf 'speed-up on the cached re-run: %.1fx\n' "$(echo "$warm_dvc / $warm_flow" | bc -l)"
