#!/usr/bin/env bash
# Fully cached re-run of a 1,000-step pipeline: `flow run` side by side with `dvc repro` on an equivalent
# 1,000-stage dvc.yaml (each stage reads the previous stage's output file and writes its own).
# Needs dvc in a virtual environment outside the repo:  python3 -m venv /work/venv-dvc && /work/venv-dvc/bin/pip install dvc
# Usage: Benchmarks/store/cached_rerun_vs_dvc.sh FLOW_BINARY [DVC_BINARY] [STEPS]
# dvc's state is seeded with `dvc commit` after running the stages' commands (a dvc.lock recording every stage, so
# `dvc repro` finds all of them unchanged, in seconds instead of 30-50 minutes); DVC_SEED=repro times dvc's own
# first run instead.
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
if [ "${DVC_SEED:-commit}" = repro ]; then
    cold_dvc=$(cd "$work/dvc" && t "$dvc" repro)   # 30-50 minutes here for 1,000 stages
else
    # A dvc.lock recording every stage, made in seconds: run the commands, then `dvc commit`.
    cold_dvc=$(cd "$work/dvc" && t sh -c 'echo 0 > o0; i=1; while [ $i -lt '"$n"' ]; do cat o$((i - 1)) > o$i; echo $i >> o$i; i=$((i + 1)); done; "$0" commit -f -q' "$dvc")
fi
# Fully cached re-runs, alternating, best of $REPS (default 3) each.
warm_flow=""; warm_dvc=""
for _ in $(seq "${REPS:-3}"); do
    f=$(cd "$work/flow" && t "$flow" run)
    d=$(cd "$work/dvc" && t "$dvc" repro)
    echo "cached re-run: flow $f s, dvc $d s"
    if [ -z "$warm_flow" ] || [ "$(echo "$f < $warm_flow" | bc -l)" = 1 ]; then warm_flow=$f; fi
    if [ -z "$warm_dvc" ] || [ "$(echo "$d < $warm_dvc" | bc -l)" = 1 ]; then warm_dvc=$d; fi
done
# Check both really were cached: flow ran nothing, dvc reports nothing changed.
(cd "$work/flow" && "$flow" runs show "$("$flow" runs --json --limit 1 | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["tag"])')" | grep -c ' cached ' | sed 's/^/flow cached steps: /')
(cd "$work/dvc" && "$dvc" status 2>&1 | tail -1 | sed 's/^/dvc status: /')
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %10s %14s\n' tool "first s" "cached re-run s"
printf '%-6s %10.2f %14.3f\n' flow "$cold_flow" "$warm_flow"
printf '%-6s %10.2f %14.3f   (first: %s)\n' dvc "$cold_dvc" "$warm_dvc" "${DVC_SEED:-commit}"
printf 'speed-up on the cached re-run: %.1fx\n' "$(echo "$warm_dvc / $warm_flow" | bc -l)"
