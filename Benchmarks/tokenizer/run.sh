#!/usr/bin/env bash
# Tokenizer benchmark, flow vs Python `tokenizers`, in one session. From the repository root:
#   Benchmarks/tokenizer/run.sh [shared data dir] [output dir]
# Needs: swiftc (the project's toolchain) and a venv with tokenizers==0.23.3 at $VENV (default /work/venv-tok).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${1:-$ROOT/../shared/data}"
OUT="${2:-${TMPDIR:-/tmp}/flow-tokenizer-bench}"
VENV="${VENV:-/work/venv-tok}"
mkdir -p "$OUT"
echo "machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# The same optimisation FlowLLM gets in a release build (-Ounchecked, whole module).
swiftc -Ounchecked -wmo -module-name TokenizerBench "$ROOT"/Sources/FlowLLM/Tokenizer/*.swift \
    "$ROOT/Benchmarks/tokenizer/main.swift" -o "$OUT/tokenizer-bench"
echo "== flow (Swift, release) =="
"$OUT/tokenizer-bench" "$DATA" "$OUT" "$ROOT/Tests/FlowLLMTests/Fixtures/tokenizer/llama2"
echo "== Python tokenizers (RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false) =="
RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$VENV/bin/python" "$ROOT/Benchmarks/tokenizer/bench_python.py" "$DATA" "$OUT" \
    "$ROOT/Tests/FlowLLMTests/Fixtures/tokenizer/llama2"
