#!/usr/bin/env bash
# Builds the release libFlowRuntime, compiles the Swift benchmark against it, and runs it beside the PyTorch
# reference (needs /work/venv-torch: see scripts/fixtures/numerics.py). Usage: Benchmarks/numerics/run.sh [--model tiny|100m] [--full]
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=${SCRATCH:-.build-numerics}
PYTHON=${PYTHON:-/work/venv-torch/bin/python}
swift build -c release --scratch-path "$SCRATCH" --product FlowRuntime >&2
BIN="$SCRATCH/release"
swiftc -O -module-cache-path "$SCRATCH/module-cache" -I "$BIN/Modules" -I Sources/COpenBLAS -L "$BIN" -lFlowRuntime \
    -Xlinker -rpath -Xlinker "$PWD/$BIN" Benchmarks/numerics/LlamaTrainingBenchmark.swift -o "$SCRATCH/llama-training-benchmark"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset}"
"$SCRATCH/llama-training-benchmark" "$@"
"$PYTHON" Benchmarks/numerics/torch_lora_benchmark.py "$@"
