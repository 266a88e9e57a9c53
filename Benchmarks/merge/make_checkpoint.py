#!/usr/bin/env python3
"""Writes a synthetic TinyLlama-1.1B-shaped BF16 checkpoint (random weights, 4 shards, HF layout) and a PEFT
LoRA adapter for it (r=16, alpha=32, every linear projection, non-zero B), for the merge benchmark.

Needs: /work/venv-torch (torch 2.15.0, safetensors 0.8.0). Usage:
    /work/venv-torch/bin/python Benchmarks/merge/make_checkpoint.py /work/bench-merge
writes /work/bench-merge/base (about 2.2 GB) and /work/bench-merge/adapter (about 50 MB). Shards are written one
at a time, so this needs about one shard (~0.6 GB) of memory. With --modules-to-save (after a plain run) it adds
/work/bench-merge/adapter-mts (about 570 MB): the same LoRA tensors plus modules_to_save copies of embed_tokens and
lm_head (F32, the base tables plus noise), as peft saves them:
    /work/venv-torch/bin/python Benchmarks/merge/make_checkpoint.py /work/bench-merge --modules-to-save
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

VOCAB, HIDDEN, INTER, LAYERS, HEADS, KV_HEADS = 32000, 2048, 5632, 22, 32, 4
HEAD_DIM = HIDDEN // HEADS
RANK, ALPHA = 16, 32
SHARDS = 4


def tensor_shapes():
    shapes = [("model.embed_tokens.weight", (VOCAB, HIDDEN))]
    for l in range(LAYERS):
        p = f"model.layers.{l}."
        shapes += [
            (p + "self_attn.q_proj.weight", (HIDDEN, HIDDEN)),
            (p + "self_attn.k_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN)),
            (p + "self_attn.v_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN)),
            (p + "self_attn.o_proj.weight", (HIDDEN, HIDDEN)),
            (p + "mlp.gate_proj.weight", (INTER, HIDDEN)),
            (p + "mlp.up_proj.weight", (INTER, HIDDEN)),
            (p + "mlp.down_proj.weight", (HIDDEN, INTER)),
            (p + "input_layernorm.weight", (HIDDEN,)),
            (p + "post_attention_layernorm.weight", (HIDDEN,)),
        ]
    shapes += [("model.norm.weight", (HIDDEN,)), ("lm_head.weight", (VOCAB, HIDDEN))]
    return shapes


def main(root):
    base, adapter = os.path.join(root, "base"), os.path.join(root, "adapter")
    os.makedirs(base, exist_ok=True)
    os.makedirs(adapter, exist_ok=True)
    torch.manual_seed(0)
    shapes = tensor_shapes()
    total = sum(2 * torch.Size(s).numel() for _, s in shapes)
    limit = total / SHARDS
    groups, size = [[]], 0
    for name, shape in shapes:
        nbytes = 2 * torch.Size(shape).numel()
        if size > 0 and size + nbytes > limit * 1.02 and len(groups) < SHARDS:
            groups.append([])
            size = 0
        groups[-1].append((name, shape))
        size += nbytes
    weight_map = {}
    for i, group in enumerate(groups):
        file = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
        tensors = {name: (torch.randn(shape) * 0.02).to(torch.bfloat16) for name, shape in group}
        save_file(tensors, os.path.join(base, file), metadata={"format": "pt"})
        weight_map.update({name: file for name in tensors})
        print(f"wrote {file} ({len(tensors)} tensors)", flush=True)
    with open(os.path.join(base, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": VOCAB, "hidden_size": HIDDEN,
        "intermediate_size": INTER, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS, "max_position_embeddings": 2048, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "tie_word_embeddings": False, "hidden_act": "silu", "torch_dtype": "bfloat16",
        "bos_token_id": 1, "eos_token_id": 2,
    }
    with open(os.path.join(base, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(base, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "model_max_length": 2048}, f, indent=2)

    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    lora = {}
    for name, shape in shapes:
        module = name[: -len(".weight")]
        if len(shape) != 2 or module.split(".")[-1] not in targets:
            continue
        out_features, in_features = shape
        bound = 1 / in_features ** 0.5
        prefix = "base_model.model." + module
        lora[prefix + ".lora_A.weight"] = torch.empty(RANK, in_features).uniform_(-bound, bound)
        lora[prefix + ".lora_B.weight"] = torch.randn(out_features, RANK) * 0.01
    save_file(lora, os.path.join(adapter, "adapter_model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(adapter, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": RANK, "lora_alpha": ALPHA,
                   "lora_dropout": 0.0, "target_modules": targets, "fan_in_fan_out": False, "bias": "none",
                   "use_rslora": False, "use_dora": False, "inference_mode": True,
                   "base_model_name_or_path": base}, f, indent=2)
    print(f"wrote {base} ({total} bytes of weights) and {adapter} ({len(lora)} LoRA tensors)")


def write_modules_to_save_adapter(root):
    from safetensors import safe_open
    from safetensors.torch import load_file

    base, adapter, out = (os.path.join(root, d) for d in ("base", "adapter", "adapter-mts"))
    with open(os.path.join(base, "model.safetensors.index.json")) as f:
        weight_map = json.load(f)["weight_map"]
    tensors = load_file(os.path.join(adapter, "adapter_model.safetensors"))
    torch.manual_seed(1)
    for module, name in [("model.embed_tokens", "model.embed_tokens.weight"), ("lm_head", "lm_head.weight")]:
        with safe_open(os.path.join(base, weight_map[name]), "pt") as f:
            table = f.get_tensor(name).float()
        tensors[f"base_model.model.{module}.weight"] = table + 0.001 * torch.randn_like(table)
    os.makedirs(out, exist_ok=True)
    save_file(tensors, os.path.join(out, "adapter_model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        config = json.load(f)
    config["modules_to_save"] = ["embed_tokens", "lm_head"]
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {out} ({len(tensors)} tensors)")


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "/work/bench-merge"
    if "--modules-to-save" in sys.argv[2:]:
        write_modules_to_save_adapter(root)
    else:
        main(root)
