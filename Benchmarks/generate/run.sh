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
BUILD=.build-generate-rel
mkdir -p "$WORK"

swift build -c release --product FlowRuntime --scratch-path "$BUILD" >/dev/null
LIB="$BUILD/release"
# The clang module maps SwiftPM passed when compiling FlowLLM (COpenBLAS, Crypto's C shims, ...).
MAPS=$(grep -o '"-fmodule-map-file=[^"]*"' "$BUILD/release/description.json" | tr -d '"' | sort -u | sed 's/^/-Xcc /' | tr '\n' ' ')
swiftc -O -o "$WORK/generate-benchmark" Benchmarks/generate/main.swift \
    -I "$LIB/Modules" -L "$LIB" -lFlowRuntime -Xlinker -rpath -Xlinker "$(pwd)/$LIB" $MAPS 2>&1 | grep -v warning || true

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
