#!/usr/bin/env python3
"""Compares flow's merged checkpoint with peft's, and both with W + scaling·B·A computed in F32 and rounded once.

Counts BF16 elements whose bits differ (modules_to_save copies: against the adapter's copy rounded to BF16);
unadapted tensors must equal the base's bit for bit.
Usage: /work/venv-torch/bin/python Benchmarks/merge/compare.py FLOW_DIR PEFT_DIR BASE_DIR ADAPTER_DIR
"""
import json
import os
import sys

import torch
from safetensors import safe_open


def open_checkpoint(directory):
    index = json.load(open(os.path.join(directory, "model.safetensors.index.json")))
    files = {f: safe_open(os.path.join(directory, f), "pt") for f in set(index["weight_map"].values())}
    return index, {name: files[f] for name, f in index["weight_map"].items()}


flow_dir, peft_dir, base_dir, adapter_dir = sys.argv[1:5]
flow_index, flow = open_checkpoint(flow_dir)
peft_index, peft = open_checkpoint(peft_dir)
_, base = open_checkpoint(base_dir)
adapter = safe_open(os.path.join(adapter_dir, "adapter_model.safetensors"), "pt")
config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
scaling = config["lora_alpha"] / (config["r"] ** 0.5 if config.get("use_rslora") else config["r"])
assert set(flow) == set(peft), "different tensor names"
elements = differ_peft = differ_ref = 0
for name in sorted(flow):
    f = flow[name].get_tensor(name)
    p = peft[name].get_tensor(name)
    prefix = "base_model.model." + name[: -len(".weight")]
    if prefix + ".lora_A.weight" in adapter.keys():
        a, b = adapter.get_tensor(prefix + ".lora_A.weight"), adapter.get_tensor(prefix + ".lora_B.weight")
        reference = (base[name].get_tensor(name).float() + (b @ a) * scaling).to(torch.bfloat16)
        differ_ref += int((f.view(torch.int16) != reference.view(torch.int16)).sum())
    elif prefix + ".weight" in adapter.keys():  # a modules_to_save copy, rounded once to BF16
        reference = adapter.get_tensor(prefix + ".weight").to(torch.bfloat16)
        differ_ref += int((f.view(torch.int16) != reference.view(torch.int16)).sum())
    else:
        assert torch.equal(f.view(torch.int16), base[name].get_tensor(name).view(torch.int16)), name
    elements += f.numel()
    differ_peft += int((f.view(torch.int16) != p.view(torch.int16)).sum())
print(f"flow index total_size {flow_index['metadata']['total_size']}, peft index total_size {peft_index['metadata']['total_size']}")
print(f"{elements} elements: {differ_ref} differ from F32 merge rounded once, {differ_peft} differ from peft's merge "
      f"({100 * differ_peft / elements:.3f} %)")
