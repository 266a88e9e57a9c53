#!/usr/bin/env python3
"""PyTorch CPU eager reference for Benchmarks/numerics: the same tiny Llama, batch and LoRA as
LlamaTrainingBenchmark.swift, forward + backward + AdamW, 2 threads. Needs torch, transformers, peft
(see scripts/fixtures/numerics.py). Usage: torch_lora_benchmark.py [--model tiny|100m] [--full] [--steps N] [--attn eager|sdpa] [--threads N]"""
import argparse
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM
from peft import LoraConfig, get_peft_model

parser = argparse.ArgumentParser()
parser.add_argument("--full", action="store_true")
parser.add_argument("--steps", type=int, default=10)
parser.add_argument("--model", choices=["tiny", "100m"], default="tiny")
parser.add_argument("--rows", type=int, default=None, help="default: 4 (tiny), 1 (100m)")
parser.add_argument("--length", type=int, default=256)
parser.add_argument("--rank", type=int, default=16)
parser.add_argument("--attn", default="sdpa")
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()
if args.rows is None:
    args.rows = 1 if args.model == "100m" else 4
torch.set_num_threads(args.threads)
torch.manual_seed(0)
shape = (dict(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12,
              num_key_value_heads=4) if args.model == "100m" else
         dict(vocab_size=2048, hidden_size=128, intermediate_size=352, num_hidden_layers=4, num_attention_heads=4,
              num_key_value_heads=2))
config = LlamaConfig(**shape, max_position_embeddings=2048, attn_implementation=args.attn)
model = LlamaForCausalLM(config).float().train()
if not args.full:
    model = get_peft_model(model, LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0,
                                             target_modules="all-linear", task_type="CAUSAL_LM"))
params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
tokens = torch.randint(0, config.vocab_size, (args.rows, args.length))
times = []
for step in range(args.steps + 2):
    start = time.perf_counter()
    optimizer.zero_grad()
    loss = model(input_ids=tokens, labels=tokens).loss
    loss.backward()
    optimizer.step()
    if step >= 2:
        times.append(time.perf_counter() - start)
times.sort()
median, best = times[len(times) // 2], times[0]
n = args.rows * args.length
mode = "full fine-tuning" if args.full else f"LoRA r={args.rank}"
print(f"torch {torch.__version__} {args.model} eager ({args.attn} attention, {args.threads} threads) {mode}: {args.rows}x{args.length} tokens, "
      f"best step {best * 1000:.1f} ms ({n / best:.0f} tokens/s), median step {median * 1000:.1f} ms, {n / median:.0f} tokens/s, loss {loss.item():.4f}")
