#!/usr/bin/env python3
"""transformers' beam search over the prompts of a flow eval's predictions.jsonl, timed and compared token for token.

Runs `generate(num_beams=N, do_sample=False, max_new_tokens=256)` with the merged model flow evaluated, on each
prompt of PREDICTIONS (written by `flow llm eval --num-beams N`), and prints the wall time of the generate calls
and how many outputs are identical to flow's.

Needs: torch, transformers, tokenizers in a virtual environment outside the repo (not CI). Usage:
    /work/venv-torch/bin/python Benchmarks/generate/transformers_beam.py MODEL_DIR PREDICTIONS.jsonl BEAMS [THREADS]
"""
import json
import sys
import time

import torch
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM

model_dir, predictions, beams = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
tokenizer = Tokenizer.from_file(model_dir + "/tokenizer.json")
eos = model.config.eos_token_id
rows = [json.loads(line) for line in open(predictions)]
same, seconds, generated = 0, 0.0, 0
for row in rows:
    ids = tokenizer.encode(row["prompt"], add_special_tokens=False).ids
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=256, do_sample=False, num_beams=beams,
                             eos_token_id=eos, pad_token_id=eos)
    seconds += time.perf_counter() - start
    new = out[0, len(ids):].tolist()
    if eos in new:
        new = new[:new.index(eos) + 1]
    generated += len(new)
    text = tokenizer.decode([t for t in new if t != eos], skip_special_tokens=True)
    same += text.strip() == row["output"].strip()
print(json.dumps({"cases": len(rows), "beams": beams, "identical_outputs": same, "seconds": round(seconds, 3),
                  "generated_tokens": generated, "threads": torch.get_num_threads()}))
