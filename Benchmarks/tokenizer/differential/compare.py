"""Compares flow's ids and decodings (from the differential executable) with Python `tokenizers`:
usage compare.py strings.json flow.json."""
import json, sys
from tokenizers import Tokenizer
strings=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2]))
for d, ids in r["ids"].items():
    t=Tokenizer.from_file(d+"/tokenizer.json")
    exp=[e.ids for e in t.encode_batch(strings)]
    bad=[i for i in range(len(strings)) if exp[i]!=ids[i]]
    dexp=t.decode_batch(exp, skip_special_tokens=False)
    dbad=[i for i in range(len(strings)) if exp[i]==ids[i] and dexp[i]!=r["decoded"][d][i]]
    print(d.split("/")[-1], "encode mismatches", len(bad), "decode mismatches", len(dbad))
    for i in bad[:4]: print("  ", repr(strings[i]), "flow", ids[i], "py", exp[i], t.encode(strings[i]).tokens)
    for i in dbad[:3]: print("  dec", repr(strings[i]), repr(r["decoded"][d][i]), repr(dexp[i]))
