#!/usr/bin/env bash
# Serving benchmark (docs/benchmarks-serve.md): `flow llm serve` (release) and its GenerationScheduler in process,
# one stream and 8 concurrent streams, the cost of one batched pass over 1-16 requests, against transformers `generate` (one stream; a batch of 8), same random
# weights. Usage (repository root):
#   Benchmarks/serve/run.sh [tiny|100m ...]        (default: tiny 100m)
# Needs /work/venv-torch (torch 2.15, transformers 5.23) or PYTHON=... pointing at one; THREADS (default 2),
# TOKENS (new tokens after the first, default 128).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-/work/venv-torch/bin/python}
THREADS=${THREADS:-2}
TOKENS=${TOKENS:-128}
WORK=${WORK:-/tmp/flow-serve-bench}
BUILD=.build-serve-rel
mkdir -p "$WORK"

swift build -c release --product flow --scratch-path "$BUILD" >/dev/null
swift build -c release --product FlowRuntime --scratch-path "$BUILD" >/dev/null
LIB="$BUILD/release"
# The clang module maps SwiftPM passed when compiling FlowLLM (COpenBLAS, Crypto's C shims, ...).
MAPS=$(grep -o '"-fmodule-map-file=[^"]*"' "$LIB/description.json" | tr -d '"' | sort -u | sed 's/^/-Xcc /' | tr '\n' ' ')
for harness in main:serve-benchmark batch_pass:batch-pass-benchmark; do
    swiftc -O -o "$WORK/${harness#*:}" "Benchmarks/serve/${harness%%:*}.swift" \
        -I "$LIB/Modules" -L "$LIB" -lFlowRuntime -Xlinker -rpath -Xlinker "$(pwd)/$LIB" $MAPS 2>&1 | grep -v warning || true
done

for s in ${@:-tiny 100m}; do
    echo "== $s, $THREADS threads, $TOKENS new tokens after the first"
    OMP_NUM_THREADS=$THREADS "$PYTHON" Benchmarks/generate/transformers_generate.py "$s" "$WORK/$s" --threads "$THREADS" \
        --tokens "$TOKENS" 2>/dev/null | sed 's/^/transformers, 1 stream: /'
    OMP_NUM_THREADS=$THREADS "$PYTHON" Benchmarks/serve/transformers_batch.py "$WORK/$s" --threads "$THREADS" \
        --tokens "$TOKENS" 2>/dev/null | sed 's/^/transformers, batch of 8: /'
    served="$WORK/$s-served"
    python3 Benchmarks/serve/prepare_model.py "$WORK/$s" "$served"
    for precision in float32 bfloat16; do
        OPENBLAS_NUM_THREADS=$THREADS "$WORK/batch-pass-benchmark" "$served" "$precision" | sed "s/^/flow passes: /"
        OPENBLAS_NUM_THREADS=$THREADS "$WORK/serve-benchmark" "$served" "$TOKENS" 3 "$precision" | sed "s/^/flow scheduler, in process: /"
        OPENBLAS_NUM_THREADS=$THREADS "$LIB/flow" llm serve --model "$served" --port 0 --precision "$precision" >"$WORK/serve.out" 2>&1 &
        pid=$!
        for _ in $(seq 600); do grep -q '^listening on ' "$WORK/serve.out" && break; sleep 0.2; done
        url=$(sed -n 's/^listening on //p' "$WORK/serve.out")
        for streams in 1 8; do
            python3 Benchmarks/serve/client.py "$url" "$served" --streams "$streams" --tokens "$TOKENS" \
                | sed "s/^/flow llm serve $precision, HTTP: /"
        done
        kill -TERM "$pid"
        wait "$pid"
    done
done
