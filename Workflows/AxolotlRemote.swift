// The same fine-tuning graph for big models, on a GPU host, as Modal's llm-finetuning runs it: Axolotl preprocesses,
// `accelerate launch -m axolotl.cli.train` trains a LoRA adapter, `axolotl.cli.merge_lora` merges it, and vLLM's
// OpenAI-compatible server serves the merged model. Every step is a shell command run over SSH on a host from
// hosts.toml (see the README's "Remote hosts"): `flow run --workflow axolotl-remote --host gpu-box`.
//
// The host needs axolotl, accelerate and vllm on its PATH (e.g. `env = { PATH = "/opt/axolotl/bin:/usr/bin:/bin" }`
// in hosts.toml) and a Hugging Face token in secrets/huggingface.env (HF_TOKEN=...) for gated base models. The
// config and data parameters name local files; flow sends them to the host with the step. The base model comes from
// the Hub once, into the `pretrained` volume (`flow volume ls pretrained`).
import FlowKit

/// The Hugging Face hub cache the steps read the base model from: the `pretrained` volume's folder on the host.
let hub = "export HF_HUB_CACHE={/pretrained}/hub HF_HUB_OFFLINE=1"

/// A fresh scratch folder on the host holding the run's config and data under the names the config expects.
let stage = #"work="$(mktemp -d)" && cp {config} "$work/config.yml" && cp {data} "$work/data.jsonl" && cd "$work""#

let axolotlRemote = Workflow("axolotl-remote") {
    Param("config", default: "Workflows/configs/axolotl/mistral.yml", help: "an Axolotl config")
    Param("data", default: "Workflows/data/sqlqa.jsonl", help: "the JSONL dataset the config's `path: data.jsonl` means")
    Param("port", default: "8000", help: "where vLLM listens on the host (serve)")

    // The config's base model, downloaded once into the `pretrained` volume (as Modal's llm-finetuning keeps it in a
    // volume): the steps below read it from there through HF_HUB_CACHE. The volume is versioned at home, so another
    // host gets it from flow's store instead of the Hub. After the download changed the volume this step runs once
    // more on the next run (the volume is part of its key) and finds everything there.
    Command("download", #"""
        \#(stage) && export HF_HUB_CACHE={/pretrained}/hub && \
        huggingface-cli download "$(sed -n 's/^base_model: *//p' config.yml | head -1)" \
        --include "*.json" "*.safetensors" "tokenizer*" "*.model"
        """#)
        .volume("/pretrained", "pretrained")
        .timeout(.hours(2))
        .secrets("huggingface")

    // Tokenizes into Axolotl's prepared-data layout (what `--preproc-only` leaves for `flow volume get`).
    Command("preprocess", "\(hub) && \(stage) && python -m axolotl.cli.preprocess config.yml --dataset_prepared_path={output/prepared}")
        .needs("download")
        .volume("/pretrained", "pretrained")
        .timeout(.hours(1))
        .secrets("huggingface")

    // One process per GPU the step was given (CUDA_VISIBLE_DEVICES lists them).
    Command("train", """
        \(hub) && \(stage) && accelerate launch --num_processes "$(echo "$CUDA_VISIBLE_DEVICES" | tr ',' '\\n' | wc -l)" \
        --num_machines 1 --mixed_precision no --dynamo_backend no -m axolotl.cli.train config.yml \
        --dataset_prepared_path={preprocess/prepared} --output_dir={output/adapter}
        """)
        .volume("/pretrained", "pretrained")
        .gpu("A100-80GB:2", "H100:2", "A100:2")
        .timeout(.hours(24))
        .retries(1, backoff: 2.0, initialDelay: .seconds(30), maxDelay: .minutes(5))
        .secrets("huggingface")

    // Axolotl writes the merged model to <output_dir>/merged.
    Command("merge", "\(hub) && \(stage) && python -m axolotl.cli.merge_lora config.yml --lora_model_dir={train/adapter} --output_dir={output/model}")
        .volume("/pretrained", "pretrained")
        .gpu("A100-80GB", "H100", "A100", "A10G")
        .timeout(.hours(2))
        .secrets("huggingface")

    Command("serve", "python -m vllm.entrypoints.openai.api_server --model {merge/model}/merged --host 127.0.0.1 --port {port}")
        .gpu("A100-80GB", "H100", "A100", "A10G")
        .secrets("huggingface")
}
.preprocessing("preprocess")
.defaultTargets("merge")
