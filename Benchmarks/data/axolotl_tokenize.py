#!/usr/bin/env python3
"""Axolotl's side of the data benchmark: tokenize and mask ../shared/data/sqlqa.jsonl with Axolotl 0.19's own
user_defined strategy (the shared mistral.yml format) and the same byte-level tokenizer flow's benchmark uses
(built as a Hugging Face fast tokenizer, see scripts/fixtures/data_axolotl.py), then drop long rows.

Two ways: a plain loop over tokenize_prompt, and datasets.Dataset.map as Axolotl runs it (num_proc=1, no cache).
Needs the environment described in scripts/fixtures/data_axolotl.py. Run from the repository root:
    PYTHONPATH=/tmp/axolotl-pkgs:scripts/fixtures python Benchmarks/data/axolotl_tokenize.py
"""
import json
import logging
import os
import time

logging.disable(logging.WARNING)
from datasets import Dataset, disable_caching  # noqa: E402

from axolotl.prompt_strategies import load as load_strategy  # noqa: E402
from axolotl.utils.dict import DictDefault  # noqa: E402
from data_axolotl import SQL_TOKENS, byte_tokenizer  # noqa: E402

DATA = os.path.join("..", "shared", "data", "sqlqa.jsonl")
SQL_TYPE = {"field_instruction": "question", "field_input": "context", "field_output": "answer",
            "format": "[INST] Using the schema context below, generate a SQL query that answers the question.\n{input}\n{instruction} [/INST]"}


def main():
    disable_caching()
    tok = byte_tokenizer(SQL_TOKENS)
    strat = load_strategy("user_defined", tok, DictDefault({"train_on_inputs": False, "sequence_len": 4096}), dict(SQL_TYPE))
    loop_times, map_times = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        with open(DATA, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        out = [strat.tokenize_prompt(r) for r in rows]
        kept = [o for o in out if 2 <= len(o["input_ids"]) <= 4096 and any(x != -100 for x in o["labels"])]
        loop_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ds = Dataset.from_json(DATA)
        mapped = ds.map(strat.tokenize_prompt, remove_columns=ds.column_names, num_proc=1)
        mapped = mapped.filter(lambda s: 2 <= len(s["input_ids"]) <= 4096)
        map_times.append(time.perf_counter() - t0)
    n = len(rows)
    for name, times in (("loop over tokenize_prompt", loop_times), ("datasets.map + filter", map_times)):
        best, median = min(times), sorted(times)[len(times) // 2]
        print(f"axolotl {name}: {n} rows ({len(kept)} kept); best {best:.3f} s = {n / best:.0f} examples/s, "
              f"median {median:.3f} s = {n / median:.0f} examples/s")


if __name__ == "__main__":
    main()
