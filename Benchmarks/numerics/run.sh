#!/usr/bin/env bash
# Builds the release libFlowRuntime, compiles the Swift benchmark against it, and runs it beside the PyTorch
# reference (needs /work/venv-torch: see scripts/fixtures/numerics.py). Usage: Benchmarks/numerics/run.sh [--model tiny|100m] [--full]
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=${SCRATCH:-.build-numerics}
PYTHON=${PYTHON:-/work/venv-torch/bin/python}
source Benchmarks/harness.sh
build_harness Benchmarks/numerics/LlamaTrainingBenchmark.swift "$SCRATCH/llama-training-benchmark" "$SCRATCH"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset}"
"$SCRATCH/llama-training-benchmark" "$@"
"$PYTHON" Benchmarks/numerics/torch_lora_benchmark.py "$@"
