#!/usr/bin/env bash
# Engine overhead: wall time of `flow run` for 1, 100 and 1,000 no-op command steps (serial chain and wide
# fan-out), side by side with `make -j2` running the same no-op commands; and the same workflows fully cached.
# Usage: Benchmarks/engine/run.sh [FLOW_BINARY]   (default: a release build, built first)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/Benchmarks/harness.sh"
flow=$(flow_binary "$@")
work="$(mktemp -d /tmp/flow-bench-engine.XXXXXX)"
trap 'rm -rf "$work"' EXIT
reps=${REPS:-3}

now() { date +%s.%N; }
best() { # best of $reps runs of "$@", in seconds
    local b=""
    for _ in $(seq "$reps"); do
        local s e t
        s=$(now); "$@" >/dev/null 2>&1; e=$(now)
        t=$(echo "$e - $s" | bc -l)
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
    done
    echo "$b"
}

printf '%-8s %-7s %12s %12s %14s %14s %8s %14s\n' shape steps "flow s" "make -j2 s" "flow ms/step" "make ms/step" ratio "cached flow s"
for shape in chain fanout; do
    for n in 1 100 1000; do
        p="$work/$shape-$n"
        mkdir -p "$p/Workflows"
        if [ "$shape" = chain ]; then
            dep='.needs(i == 0 ? [] : ["s\(i - 1)"])'
            {
                echo "all: s$((n - 1))"
                for i in $(seq 0 $((n - 1))); do
                    if [ "$i" = 0 ]; then echo "s$i:"; else echo "s$i: s$((i - 1))"; fi
                    printf '\t@true\n'
                done
            } > "$p/Makefile"
        else
            dep=''
            {
                printf 'all:'; for i in $(seq 0 $((n - 1))); do printf ' s%d' "$i"; done; echo
                for i in $(seq 0 $((n - 1))); do echo "s$i:"; printf '\t@true\n'; done
            } > "$p/Makefile"
        fi
        printf '.PHONY: all%s\n' "$(for i in $(seq 0 $((n - 1))); do printf ' s%d' "$i"; done)" >> "$p/Makefile"
        cat > "$p/Workflows/Bench.swift" <<SWIFT
import FlowKit
let bench = Workflow("bench") {
    for i in 0..<$n {
        Command("s\(i)", "true")$dep
    }
}
SWIFT
        (cd "$p" && "$flow" graph >/dev/null)  # compile the workflow once; runs below use the cached binary
        tf=$(cd "$p" && best "$flow" run --no-cache)      # every step runs
        tc=$(cd "$p" && best "$flow" run)                 # every step is a cache hit
        tm=$(cd "$p" && best make -j2 -s)
        printf '%-8s %-7s %12.3f %12.3f %14.3f %14.3f %8.2f %14.3f\n' "$shape" "$n" "$tf" "$tm" \
            "$(echo "$tf * 1000 / $n" | bc -l)" "$(echo "$tm * 1000 / $n" | bc -l)" "$(echo "$tf / $tm" | bc -l)" "$tc"
    done
done
