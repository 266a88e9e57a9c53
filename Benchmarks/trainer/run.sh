#!/usr/bin/env bash
# Builds the release libFlowRuntime, compiles the Trainer benchmark against it and runs it (LoRA, LoRA with
# modules_to_save, full fine-tuning), with OPENBLAS_CORETYPE as set and unset. Usage: Benchmarks/trainer/run.sh [--steps N]
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=${SCRATCH:-.build-trainer}
swift build -c release --scratch-path "$SCRATCH" --product FlowRuntime >&2
BIN="$SCRATCH/release"
swiftc -O -module-cache-path "$SCRATCH/module-cache" -I "$BIN/Modules" -I Sources/COpenBLAS -L "$BIN" -lFlowRuntime \
    -I "$SCRATCH/checkouts/Yams/Sources/CYaml/include" -I "$SCRATCH/checkouts/swift-crypto/Sources/CCryptoBoringSSL/include" \
    -I "$SCRATCH/checkouts/swift-crypto/Sources/CCryptoBoringSSLShims/include" \
    -Xlinker -rpath -Xlinker "$PWD/$BIN" Benchmarks/trainer/TrainerBenchmark.swift -o "$SCRATCH/trainer-benchmark"
for flags in "" "--modules-to-save" "--full"; do
    echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
    "$SCRATCH/trainer-benchmark" $flags "$@"
    echo "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$SCRATCH/trainer-benchmark" $flags "$@"
done
