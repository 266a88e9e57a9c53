#!/usr/bin/env bash
# Eval benchmark: sql_valid over every sqlqa reference answer, and Evaluation.run against the bare generation loop
# on the tiny generation fixture. Usage (repository root):
#   Benchmarks/eval/run.sh [CASES] [MAX_TOKENS] [REPEATS]        (default: 64 32 3)
# Reads ../shared/data/sqlqa.jsonl; OPENBLAS_NUM_THREADS=THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS=${THREADS:-2}
WORK=${WORK:-/tmp/flow-eval-bench}
BUILD=${BUILD:-.build-eval-rel}
mkdir -p "$WORK"

swift build -c release --product FlowRuntime --scratch-path "$BUILD" >/dev/null
LIB="$BUILD/release"
# The clang module maps SwiftPM passed when compiling FlowLLM (COpenBLAS, Crypto's and GRDB's C shims, ...).
MAPS=$(grep -o '"-fmodule-map-file=[^"]*"' "$LIB/description.json" | tr -d '"' | sort -u | sed 's/^/-Xcc /' | tr '\n' ' ')
swiftc -O -o "$WORK/eval-benchmark" Benchmarks/eval/main.swift \
    -I "$LIB/Modules" -L "$LIB" -lFlowRuntime -Xlinker -rpath -Xlinker "$(pwd)/$LIB" $MAPS 2>&1 | grep -v warning || true

FIXTURES=Tests/FlowLLMTests/Fixtures
OPENBLAS_NUM_THREADS=$THREADS "$WORK/eval-benchmark" ../shared/data/sqlqa.jsonl "$FIXTURES/generate/model" \
    "$FIXTURES/tokenizer/llama2" "${1:-64}" "${2:-32}" "${3:-3}"
