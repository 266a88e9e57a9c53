#!/usr/bin/env python3
"""transformers' side of the generation benchmark (docs/benchmarks-generate.md).

Builds a random Llama of the given size (seeded), saves it with save_pretrained (F32 safetensors) into OUT so
flow's harness loads the very same weights, then times greedy `generate` on CPU: time to first token
(max_new_tokens=1, prompt prefill included) and decode tokens/s ((T(1+N) - T(1)) / N), one stream.
It writes OUT/prompt.json (the prompt ids and transformers' greedy tokens, which flow's harness checks).

Needs: Python 3.11 with torch==2.15.0 and transformers==5.23.0 (the /work/venv-torch environment).
Run:   OMP_NUM_THREADS=2 python Benchmarks/generate/transformers_generate.py {tiny|100m} OUT [--tokens 128]
"""
import argparse
import json
import os
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SIZES = {
    "tiny": dict(vocab_size=2048, hidden_size=128, intermediate_size=352, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=2),
    "100m": dict(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                 num_attention_heads=12, num_key_value_heads=4),
}

parser = argparse.ArgumentParser()
parser.add_argument("size", choices=SIZES)
parser.add_argument("out")
parser.add_argument("--tokens", type=int, default=128)
parser.add_argument("--prompt", type=int, default=32)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--repeats", type=int, default=3)
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
config = LlamaConfig(**SIZES[args.size], max_position_embeddings=2048, tie_word_embeddings=False,
                     bos_token_id=1, eos_token_id=2)
model = LlamaForCausalLM(config).eval()
model.save_pretrained(args.out, safe_serialization=True)
prompt = torch.randint(3, config.vocab_size, (1, args.prompt), generator=torch.Generator().manual_seed(1))
mask = torch.ones_like(prompt)


def run(new_tokens):
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(prompt, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                             do_sample=False, eos_token_id=None, pad_token_id=0)
    return time.perf_counter() - start, out[0, args.prompt:].tolist()


run(4)  # warm-up
first = min(run(1)[0] for _ in range(args.repeats))
full_times, tokens = zip(*(run(1 + args.tokens) for _ in range(args.repeats)))
full = min(full_times)
weights = sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n) + config.hidden_size
result = {
    "size": args.size, "threads": args.threads, "prompt_tokens": args.prompt, "new_tokens": args.tokens,
    "ttft_ms": first * 1e3, "decode_tokens_per_s": args.tokens / (full - first),
    "bytes_read_per_token": weights * 4,
}
with open(os.path.join(args.out, "prompt.json"), "w") as f:
    json.dump({"prompt_ids": prompt[0].tolist(), "greedy": tokens[0]}, f)
print(json.dumps(result))
