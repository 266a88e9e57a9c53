#!/usr/bin/env python3
"""transformers' side of the 8-stream serving benchmark (docs/benchmarks-serve.md): greedy `generate` on CPU over
a batch of STREAMS copies of the benchmark prompt (the nearest transformers has to 8 concurrent requests: one
batched generate), same weights as flow (the directory Benchmarks/generate/transformers_generate.py saved).
Time to first token = a batched generate of 1 token; total decode tokens/s = STREAMS * N / (T(1+N) - T(1)).

Needs /work/venv-torch (torch 2.15.0, transformers 5.23.0).
Run: OMP_NUM_THREADS=2 python Benchmarks/serve/transformers_batch.py MODEL_DIR [--streams 8] [--tokens 128]
"""
import argparse
import json
import os
import time

import torch
from transformers import LlamaForCausalLM

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("--streams", type=int, default=8)
parser.add_argument("--tokens", type=int, default=128)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--repeats", type=int, default=3)
args = parser.parse_args()

torch.set_num_threads(args.threads)
model = LlamaForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
with open(os.path.join(args.model, "prompt.json")) as f:
    prompt_ids = json.load(f)["prompt_ids"]
prompt = torch.tensor([prompt_ids] * args.streams)
mask = torch.ones_like(prompt)


def run(new_tokens):
    start = time.perf_counter()
    with torch.no_grad():
        model.generate(prompt, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                       do_sample=False, eos_token_id=None, pad_token_id=0)
    return time.perf_counter() - start


run(4)  # warm-up
first = min(run(1) for _ in range(args.repeats))
full = min(run(1 + args.tokens) for _ in range(args.repeats))
print(json.dumps({"streams": args.streams, "threads": args.threads, "prompt_tokens": len(prompt_ids),
                  "new_tokens": args.tokens, "ttft_ms": first * 1e3,
                  "total_decode_tokens_per_s": args.streams * args.tokens / (full - first),
                  "per_stream_decode_tokens_per_s": args.tokens / (full - first)}))
