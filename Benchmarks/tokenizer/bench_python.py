#!/usr/bin/env python3
"""Python side of Benchmarks/tokenizer/run.sh: times `tokenizers` (0.23.3) single-threaded on the tokenizers flow
trained and wrote, checks that Python's ids equal flow's, and times Python's own BpeTrainer for reference.
Run with RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false (run.sh does)."""
import json
import os
import sys
import time

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

data, out = sys.argv[1], sys.argv[2]
docs = [json.loads(l)["text"] for l in open(os.path.join(data, "modal_docs.jsonl"), encoding="utf-8")]
sql = []
for line in open(os.path.join(data, "sqlqa.jsonl"), encoding="utf-8"):
    r = json.loads(line)
    sql.append(r["question"] + "\n" + r["context"] + "\n" + r["answer"])
mb = sum(len(t.encode("utf-8")) for t in docs) / 1e6

for style in ["gpt2", "llama3", "llama2-fixture"]:
    path = os.path.join(sys.argv[3] if style == "llama2-fixture" else os.path.join(out, style), "tokenizer.json")
    tok = Tokenizer.from_file(path)  # fresh: empty word cache
    start = time.perf_counter()
    ids = [tok.encode(t).ids for t in docs]
    cold = time.perf_counter() - start
    best_loop = best_batch = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for t in docs:
            tok.encode(t)
        best_loop = min(best_loop, time.perf_counter() - start)
        start = time.perf_counter()
        tok.encode_batch(docs)
        best_batch = min(best_batch, time.perf_counter() - start)
    flow_ids = json.load(open(os.path.join(out, style, "ids.json")))
    print(f"[{style}] python encode loop: cold {mb / cold:.2f} MB/s, warm {mb / best_loop:.2f} MB/s; "
          f"encode_batch warm {mb / best_batch:.2f} MB/s; ids identical to flow: {ids == flow_ids} "
          f"({sum(map(len, ids))} tokens)")

tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
trainer = trainers.BpeTrainer(vocab_size=8000, min_frequency=2, special_tokens=["<|endoftext|>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
start = time.perf_counter()
tok.train_from_iterator(docs + sql, trainer)
print(f"[gpt2] python BpeTrainer 8000 tokens: {time.perf_counter() - start:.2f} s")
