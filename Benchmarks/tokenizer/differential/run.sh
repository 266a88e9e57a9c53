#!/usr/bin/env bash
# Differential check of flow's Tokenizer against Python `tokenizers` on random strings from many scripts (marks,
# odd whitespace, supplementary planes, added tokens, contractions), for the fixture tokenizers and their variants.
#   Benchmarks/tokenizer/differential/run.sh [seed] [count]
# Needs swiftc and a venv with tokenizers==0.23.3 at $VENV (default /work/venv-tok). Prints mismatch counts per
# tokenizer (expected: 0 everywhere).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VENV="${VENV:-/work/venv-tok}"
SEED="${1:-1}"
COUNT="${2:-20000}"
WORK="${TMPDIR:-/tmp}/flow-tokenizer-differential"
FIXTURES="$ROOT/Tests/FlowLLMTests/Fixtures/tokenizer"
mkdir -p "$WORK"
swiftc -O -wmo -module-name TokenizerDifferential "$ROOT"/Sources/FlowLLM/Tokenizer/*.swift "$HERE/main.swift" \
    -o "$WORK/tokenizer-differential"
# The variant tokenizers of the fixtures, written out as files.
"$VENV/bin/python" - "$ROOT" "$WORK" <<'PY'
import json, os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "scripts", "fixtures"))
import tokenizer as fixtures
for name, base, patch in fixtures.VARIANTS:
    directory = os.path.join(sys.argv[2], "variants", name)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(fixtures.OUT, base, "tokenizer.json"), encoding="utf-8") as f:
        data = fixtures.apply_patch(json.load(f), patch)
    with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
PY
"$VENV/bin/python" "$HERE/random_strings.py" "$SEED" "$COUNT" "$WORK/strings.json"
"$WORK/tokenizer-differential" "$WORK/strings.json" "$FIXTURES"/{gpt2,llama3,llama2,metaspace,flow} \
    "$WORK"/variants/* >"$WORK/flow.json"
"$VENV/bin/python" "$HERE/compare.py" "$WORK/strings.json" "$WORK/flow.json"
