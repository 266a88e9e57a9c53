import FlowKit
import Testing

@Suite struct WorkflowDSLTests {
    @Test func builderSupportsLoopsConditionalsAndAttributes() {
        let withEval = true
        let w = Workflow("dsl") {
            Param("learningRate", default: "1e-4", help: "peak learning rate")
            for i in 0..<3 { Command("shard-\(i)", "echo \(i)") }
            if withEval {
                Function("eval") { _ in }
                    .needs("shard-0", "shard-1")
                    .gpu("A100-80GB:2", "any")
                    .timeout(.minutes(30))
                    .retries(2, backoff: 3, initialDelay: .seconds(2), maxDelay: .seconds(10))
                    .secrets("huggingface")
                    .volume("/pretrained", "pretrained")
                    .cpu(2)
                    .memory(4096)
                    .env(["MODE": "fast"])
            } else {
                Command("skip", "true")
            }
        }.preprocessing("shard-0").defaultTargets("eval")
        let spec = w.spec
        #expect(spec.steps.map(\.name) == ["shard-0", "shard-1", "shard-2", "eval"])
        #expect(spec.params.first?.optionName == "learning-rate")
        let eval = spec.steps[3]
        #expect(eval.command == nil)
        #expect(eval.attributes.needs == ["shard-0", "shard-1"])
        #expect(eval.attributes.gpu == ["A100-80GB:2", "any"])
        #expect(eval.attributes.timeoutSeconds == 1800)
        #expect(eval.attributes.retries.count == 2)
        #expect(eval.attributes.retries.delay(beforeRetry: 1) == 2)
        #expect(eval.attributes.retries.delay(beforeRetry: 2) == 6)
        #expect(eval.attributes.retries.delay(beforeRetry: 3) == 10)
        #expect(eval.attributes.secrets == ["huggingface"])
        #expect(eval.attributes.volumes == [VolumeMount(path: "/pretrained", name: "pretrained")])
        #expect(eval.attributes.cpu == 2)
        #expect(eval.attributes.memoryMiB == 4096)
        #expect(eval.attributes.env == ["MODE": "fast"])
        #expect(spec.preprocessingStep == "shard-0")
        #expect(spec.defaultTargets == ["eval"])
        #expect(eval.line > 0 && eval.file.hasSuffix("WorkflowDSLTests.swift"))
    }

    @Test(arguments: [("learningRate", "learning-rate"), ("lora_r", "lora-r"), ("config", "config"),
                      ("numEpochs", "num-epochs")])
    func paramsBecomeKebabCaseOptions(name: String, option: String) {
        #expect(Param(name).optionName == option)
    }
}
