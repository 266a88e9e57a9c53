#!/usr/bin/env python3
"""The HTTP side of the serving benchmark (docs/benchmarks-serve.md): STREAMS concurrent streamed
/v1/completions requests to a running `flow llm serve`, each with the benchmark prompt as token ids, greedy,
exactly 1+N tokens (the served copy has no EOS). Per stream: time to first token (request sent → first chunk with
text) and decode tokens/s (the N tokens after the first over the time from the first chunk to the last). Total
decode tokens/s = all streams' N tokens / (last stream's end − earliest first chunk). Best of REPEATS rounds.
Standard library only (http.client, one thread per stream).

Run: python3 Benchmarks/serve/client.py URL MODEL_DIR [--streams 8] [--tokens 128] [--repeats 3]
"""
import argparse
import http.client
import json
import os
import threading
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("model_dir")
parser.add_argument("--streams", type=int, default=1)
parser.add_argument("--tokens", type=int, default=128)
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--model", default=None)
args = parser.parse_args()

with open(os.path.join(args.model_dir, "prompt.json")) as f:
    prompt_ids = json.load(f)["prompt_ids"]
target = urllib.parse.urlparse(args.url)
model = args.model or os.path.basename(os.path.normpath(args.model_dir))


def stream(result):
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
    body = json.dumps({"model": model, "prompt": prompt_ids, "max_tokens": 1 + args.tokens, "temperature": 0,
                       "stream": True, "stream_options": {"include_usage": True}})
    start = time.perf_counter()
    connection.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200, response.read()
    first = last = None
    usage = None
    for line in response:
        if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
            continue
        chunk = json.loads(line[6:])
        if chunk.get("usage"):
            usage = chunk["usage"]
        if any(choice["text"] for choice in chunk["choices"]):
            last = time.perf_counter()
            first = first or last
    connection.close()
    assert usage["completion_tokens"] == 1 + args.tokens, usage
    result.update(start=start, first=first, end=last, ttft=first - start,
                  decode=args.tokens / (last - first))


def round_():
    results = [{} for _ in range(args.streams)]
    threads = [threading.Thread(target=stream, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = args.streams * args.tokens / (max(r["end"] for r in results) - min(r["first"] for r in results))
    return {"streams": args.streams, "new_tokens": args.tokens, "prompt_tokens": len(prompt_ids),
            "ttft_ms_mean": sum(r["ttft"] for r in results) / len(results) * 1e3,
            "ttft_ms_max": max(r["ttft"] for r in results) * 1e3,
            "per_stream_decode_tokens_per_s_mean": sum(r["decode"] for r in results) / len(results),
            "total_decode_tokens_per_s": total}


round_()  # warm-up
best = max((round_() for _ in range(args.repeats)), key=lambda r: r["total_decode_tokens_per_s"])
print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in best.items()}))
