#!/usr/bin/env bash
# The merge benchmark: flow's LoRAMerge vs peft merge_and_unload + save_pretrained vs plain read+copy, on the
# synthetic TinyLlama-shaped BF16 checkpoint from make_checkpoint.py. Run from the repository root:
#   Benchmarks/merge/run.sh /work/bench-merge
# Needs the release FlowRuntime library (built here if missing) and /work/venv-torch for the peft side.
set -euo pipefail
ROOT=${1:-/work/bench-merge}
BUILD=.build-merge-rel/release
[ -d "$ROOT/base" ] || /work/venv-torch/bin/python Benchmarks/merge/make_checkpoint.py "$ROOT"
swift build -c release --product FlowRuntime --scratch-path .build-merge-rel >/dev/null
FLAGS=$(/work/venv-torch/bin/python - "$BUILD/description.json" <<'PY'
import json, sys
commands = json.load(open(sys.argv[1]))["swiftCommands"].values()
args = next(c["otherArguments"] for c in commands if c.get("moduleName") == "FlowLLM")
out, i = [], 0
while i < len(args):  # the C module maps FlowLLM's interface needs, as SwiftToolchain.dependencyFlags keeps them
    if args[i] == "-Xcc" and args[i + 1].startswith("-fmodule-map-file="):
        out += args[i:i + 2]; i += 2
    elif args[i] == "-Xcc" and args[i + 1] == "-I":
        out += args[i:i + 4]; i += 4
    else:
        i += 1
print(" ".join(out))
PY
)
swiftc -O Benchmarks/merge/main.swift -o "$BUILD/merge-bench" -I "$BUILD/Modules" -L "$BUILD" -lFlowRuntime \
    -Xlinker -rpath -Xlinker "$PWD/$BUILD" $FLAGS

measure() {  # label, command...: prints wall time and peak RSS from /usr/bin/time -v
    local label=$1; shift
    local log; log=$(mktemp)
    /usr/bin/time -v "$@" >"$log.out" 2>"$log" || { cat "$log" "$log.out"; exit 1; }
    grep -E "flow merge|VmHWM|load .* save" "$log.out" || true
    printf '%-52s wall %8s   peak RSS %8.1f MiB\n' "$label" \
        "$(grep 'Elapsed (wall' "$log" | awk '{print $NF}')" \
        "$(grep 'Maximum resident' "$log" | awk '{print $NF / 1024}')"
    rm -f "$log" "$log.out"
}

rm -rf "$ROOT/cp" "$ROOT/flow" "$ROOT/peft"
measure "read: cat shards > /dev/null" bash -c "cat $ROOT/base/*.safetensors > /dev/null"
measure "copy: cp -r base + sync" bash -c "cp -r $ROOT/base $ROOT/cp && sync $ROOT/cp/*"
rm -rf "$ROOT/cp"
measure "flow LoRAMerge (environment as is)" "$BUILD/merge-bench" "$ROOT/base" "$ROOT/adapter" "$ROOT/flow"
rm -rf "$ROOT/flow"
measure "flow LoRAMerge (OPENBLAS_CORETYPE, _L2_SIZE unset)" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
    "$BUILD/merge-bench" "$ROOT/base" "$ROOT/adapter" "$ROOT/flow"
measure "peft merge_and_unload + save_pretrained" \
    /work/venv-torch/bin/python Benchmarks/merge/peft_merge.py "$ROOT/base" "$ROOT/adapter" "$ROOT/peft"
/work/venv-torch/bin/python Benchmarks/merge/compare.py "$ROOT/flow" "$ROOT/peft" "$ROOT/base" "$ROOT/adapter"
