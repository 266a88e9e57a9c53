#!/usr/bin/env bash
# Generation benchmark: flow (release FlowRuntime + a swiftc-compiled harness) against transformers `generate`,
# same random weights, one stream. Usage (repository root):
#   Benchmarks/generate/run.sh [tiny|100m ...]        (default: tiny 100m)
# Needs /work/venv-torch (torch 2.15, transformers 5.23) or PYTHON=... pointing at one; THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-/work/venv-torch/bin/python}
THREADS=${THREADS:-2}
WORK=${WORK:-/tmp/flow-generate-bench}
BUILD=${BUILD:-.build-generate-rel}
mkdir -p "$WORK"

source Benchmarks/harness.sh
build_harness Benchmarks/generate/main.swift "$WORK/generate-benchmark" "$BUILD"

for size in "${@:-tiny 100m}"; do
    for s in $size; do
        echo "== $s, $THREADS threads"
        OMP_NUM_THREADS=$THREADS "$PYTHON" Benchmarks/generate/transformers_generate.py "$s" "$WORK/$s" --threads "$THREADS" 2>/dev/null \
            | sed 's/^/transformers: /'
        for precision in float32 bfloat16; do
            echo -n "flow $precision (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}): "
            OPENBLAS_NUM_THREADS=$THREADS "$WORK/generate-benchmark" "$WORK/$s" 128 3 $precision
            echo -n "flow $precision (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset): "
            env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=$THREADS "$WORK/generate-benchmark" "$WORK/$s" 128 3 $precision
            echo -n "flow $precision (OPENBLAS_CORETYPE=Haswell): "
            OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=$THREADS "$WORK/generate-benchmark" "$WORK/$s" 128 3 $precision
        done
    done
done
