// The built-in fine-tuning steps: data, tokenizers, tensors, the Llama model, LoRA, training, merge, generation, serving.
import FlowKit
