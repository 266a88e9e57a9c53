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

source Benchmarks/harness.sh
build_harness Benchmarks/eval/main.swift "$WORK/eval-benchmark" "$BUILD"

FIXTURES=Tests/FlowLLMTests/Fixtures
OPENBLAS_NUM_THREADS=$THREADS "$WORK/eval-benchmark" ../shared/data/sqlqa.jsonl "$FIXTURES/generate/model" \
    "$FIXTURES/tokenizer/llama2" "${1:-64}" "${2:-32}" "${3:-3}"
