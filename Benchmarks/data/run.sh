#!/bin/sh
# Whole preprocessing of ../shared/data/sqlqa.jsonl in examples/s, release build, byte-level test tokenizer.
# Usage (from the repository root): sh Benchmarks/data/run.sh
set -e
# Plain release builds are not testable: if a test file of the target uses `@testable import`, add
# `-Xswiftc -enable-testing` to the build and test commands below.
swift build -c release --build-tests --scratch-path .build-data-release
echo "== OPENBLAS_CORETYPE as set: ${OPENBLAS_CORETYPE:-unset}"
FLOW_DATA_BENCHMARK=1 swift test -c release --skip-build --scratch-path .build-data-release \
    --filter preprocessingBenchmarkSQLQA 2>&1 | grep data-benchmark
echo "== OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE FLOW_DATA_BENCHMARK=1 swift test -c release --skip-build \
    --scratch-path .build-data-release --filter preprocessingBenchmarkSQLQA 2>&1 | grep data-benchmark
# Axolotl's side (same tokenizer, same rows), when its environment is there (see axolotl_tokenize.py).
if [ -n "$AXOLOTL_PYTHON" ]; then
    PYTHONPATH="${AXOLOTL_PYTHONPATH:-/tmp/axolotl-pkgs}:scripts/fixtures" "$AXOLOTL_PYTHON" \
        Benchmarks/data/axolotl_tokenize.py 2>/dev/null | grep '^axolotl'
fi
