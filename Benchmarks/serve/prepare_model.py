#!/usr/bin/env python3
"""Makes a servable copy of the benchmark's random checkpoint (docs/benchmarks-serve.md).

transformers_generate.py (Benchmarks/generate) saves a random Llama without a tokenizer. A server needs one to
turn tokens into text, so this writes a byte-level BPE tokenizer.json whose vocabulary covers every id ("Ġt<id>",
no merges, no special tokens): each generated token then releases text (" t123") and becomes one streamed chunk.
config.json's eos_token_id is dropped so that, as in transformers' run (eos_token_id=None), no token ends a stream
early. Standard library only.

Run: python3 Benchmarks/serve/prepare_model.py MODEL_DIR OUT_DIR
"""
import json
import os
import shutil
import sys

source, out = sys.argv[1:3]
os.makedirs(out, exist_ok=True)
for name in os.listdir(source):
    if name.endswith(".safetensors") or name.endswith(".json"):
        shutil.copy(os.path.join(source, name), out)
with open(os.path.join(out, "config.json")) as f:
    config = json.load(f)
config["eos_token_id"] = None
config["bos_token_id"] = None
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(config, f)
byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
tokenizer = {
    "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
    "pre_tokenizer": byte_level, "post_processor": None, "decoder": byte_level,
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
              "vocab": {f"\u0120t{i}": i for i in range(config["vocab_size"])}, "merges": []},
}
with open(os.path.join(out, "tokenizer.json"), "w") as f:
    json.dump(tokenizer, f)
