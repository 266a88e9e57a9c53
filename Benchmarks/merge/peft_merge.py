#!/usr/bin/env python3
"""The reference side of the merge benchmark: peft `merge_and_unload` + transformers `save_pretrained`.

Needs: /work/venv-torch (torch 2.15.0, transformers 5.23.0, peft 0.21.2). Usage:
    /usr/bin/time -v /work/venv-torch/bin/python Benchmarks/merge/peft_merge.py BASE ADAPTER OUTPUT
"""
import sys
import time

import torch
from peft import PeftModel
from transformers import LlamaForCausalLM

base_dir, adapter_dir, output_dir = sys.argv[1:4]
t0 = time.perf_counter()
base = LlamaForCausalLM.from_pretrained(base_dir, dtype=torch.bfloat16)
t1 = time.perf_counter()
merged = PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
t2 = time.perf_counter()
merged.save_pretrained(output_dir, max_shard_size="600MB")
t3 = time.perf_counter()
print(f"load {t1 - t0:.2f} s, merge {t2 - t1:.2f} s, save {t3 - t2:.2f} s, total {t3 - t0:.2f} s")
