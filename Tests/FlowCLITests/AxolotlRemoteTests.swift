import FlowEngine
import FlowTesting
import Foundation
import Testing

/// `Workflows/AxolotlRemote.swift`: the GPU path. The GPU tools (axolotl, accelerate, vLLM) cannot run here, so the
/// host's PATH leads to small scripts that record how they were called and write what the real tools write; the
/// host itself is a real sshd on 127.0.0.1 that declares two GPUs.
@Suite("the Axolotl workflow for GPU hosts") struct AxolotlRemoteTests {
    func project(_ name: String) throws -> TemporaryProject {
        let p = try TemporaryProject(name)
        try p.copyFromRepository("Workflows/AxolotlRemote.swift")
        try p.copyFromRepository("Workflows/configs/axolotl/mistral.yml")
        try p.write("Workflows/data/sqlqa.jsonl", #"{"question": "q", "context": "CREATE TABLE t (a INT)", "answer": "[SQL] SELECT a FROM t [/SQL]"}"# + "\n")
        try p.write("secrets/huggingface.env", "HF_TOKEN=hf_test\(UInt32.random(in: 0...UInt32.max))\n", mode: 0o600)
        return p
    }

    @Test func refusesToStartWithoutAGPUHostAndSaysWhichStepNeedsWhat() throws {
        let p = try project("axolotl-nogpu")
        let out = try p.flow("run", "--workflow", "axolotl-remote")
        #expect(out.status == 2, "\(out.stdout)\(out.stderr)")
        #expect(out.stderr.contains("step 'train' needs gpu A100-80GB:2 or H100:2 or A100:2"), "\(out.stderr)")
        #expect(out.stderr.contains("step 'merge' needs gpu"), "\(out.stderr)")
        #expect(out.stderr.contains("--host NAME"), "\(out.stderr)")
        #expect(try p.database().runs(limit: 10).isEmpty, "a run was started")
    }

    @Test func buildsModalsCommandLinesOnTheHostAndBringsTheMergedModelBack() throws {
        let server = try SSHServer()
        let p = try project("axolotl-remote")
        let calls = p.root.appendingPathComponent("calls.log")
        // Each tool records its arguments, working directory, GPUs and whether it got the token, then writes what the
        // real tool leaves in the folders it was given.
        let recorder = """
            #!/bin/sh
            { printf '%s' "$(basename "$0")"; for a in "$@"; do printf ' %s' "$a"; done
              printf '\\n  cwd-config %s\\n  gpus %s\\n  token %s\\n  hub %s\\n' "$(cksum < config.yml)" "$CUDA_VISIBLE_DEVICES" "${HF_TOKEN:+set}" "$HF_HUB_CACHE"; } >> \(calls.path)
            if [ "$(basename "$0") $1" = "huggingface-cli download" ]; then
              mkdir -p "$HF_HUB_CACHE/models--base" && echo weights > "$HF_HUB_CACHE/models--base/model.safetensors"
            fi
            for a in "$@"; do
              case "$a" in
                --dataset_prepared_path=*) if [ "$2" = axolotl.cli.preprocess ]; then echo prepared > "${a#*=}/data.arrow"; fi ;;
                --output_dir=*) d="${a#*=}"; case " $* " in
                  *axolotl.cli.train*) echo '{"peft_type": "LORA"}' > "$d/adapter_config.json" ;;
                  *merge_lora*) mkdir -p "$d/merged" && echo '{"model_type": "mistral"}' > "$d/merged/config.json" ;;
                  esac ;;
              esac
            done
            exit 0
            """
        try p.write("tools/python", recorder, mode: 0o755)
        try p.write("tools/accelerate", recorder, mode: 0o755)
        try p.write("tools/huggingface-cli", recorder, mode: 0o755)
        let remoteRoot = p.root.appendingPathComponent("remote-root")
        try p.write("hosts.toml", server.hostsTOML(name: "gpu-box", root: remoteRoot, extra: """
            gpus = ["A100-80GB", "A100-80GB"]
            env = { PATH = "\(p.root.path)/tools:/usr/bin:/bin" }
            """))

        let out = try p.flow("run", "--workflow", "axolotl-remote", "--host", "gpu-box")
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        let tag = try p.lastTag()
        let log = try String(contentsOf: calls, encoding: .utf8)
        let run = "\(remoteRoot.path)/runs/\(tag)"
        let configSum = try p.run("/bin/sh", ["-c", "cksum < Workflows/configs/axolotl/mistral.yml"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(log.contains("python -m axolotl.cli.preprocess config.yml --dataset_prepared_path=\(run)/preprocess/a1/outputs/prepared\n"), "\(log)")
        #expect(log.contains("""
            accelerate launch --num_processes 2 --num_machines 1 --mixed_precision no --dynamo_backend no \
            -m axolotl.cli.train config.yml --dataset_prepared_path=\(run)/train/a1/inputs/preprocess/prepared \
            --output_dir=\(run)/train/a1/outputs/adapter
              cwd-config \(configSum)
              gpus 0,1
              token set
              hub \(run)/train/a1/volumes/pretrained/hub
            """), "\(log)")
        // The base model came from the Hub once, into the `pretrained` volume, which is now versioned at home.
        #expect(log.contains("huggingface-cli download mistralai/Mistral-7B-v0.1 --include *.json *.safetensors tokenizer* *.model\n"), "\(log)")
        #expect(try p.flow("volume", "get", "pretrained/hub/models--base/model.safetensors", "-").stdout == "weights\n")
        #expect(log.contains("python -m axolotl.cli.merge_lora config.yml --lora_model_dir=\(run)/merge/a1/inputs/train/adapter --output_dir=\(run)/merge/a1/outputs/model\n"), "\(log)")
        #expect(!log.contains("vllm"), "serve is not a default target")
        #expect(try p.flow("volume", "get", "runs/\(tag)/merge/model/merged/config.json", "-").stdout.contains("mistral"))

        // The next run downloads once more (the volume it mounts changed) and finds nothing new; the steps that read
        // the volume are cached: they ran against this version already. The run after that is cached throughout.
        #expect(try p.flow("run", "--workflow", "axolotl-remote", "--host", "gpu-box").status == 0)
        let second = Dictionary(uniqueKeysWithValues: try p.database().steps(of: try p.lastTag()).map { ($0.name, $0.status) })
        #expect(second == ["download": .succeeded, "preprocess": .cached, "train": .cached, "merge": .cached], "\(second)")
        #expect(try p.flow("run", "--workflow", "axolotl-remote", "--host", "gpu-box").status == 0)
        #expect(try p.database().steps(of: try p.lastTag()).allSatisfy { $0.status == .cached })

        // --preproc-only runs preprocessing alone (cached now), and the prepared data is the well-known ref.
        let pre = try p.flow("run", "--workflow", "axolotl-remote", "--host", "gpu-box", "--preproc-only")
        #expect(pre.status == 0, "\(pre.stderr)")
        #expect(try p.flow("volume", "get", "last_run_prepared/data.arrow", "-").stdout == "prepared\n")
    }
}
