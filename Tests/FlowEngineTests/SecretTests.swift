@testable import FlowEngine
import Testing

@Suite struct SecretParsingTests {
    @Test func dotenvReadsCommentsQuotesAndExport() throws {
        let values = try DotEnv.parse("""
            # Hugging Face
            export HF_TOKEN="hf_abc def"
            WANDB_API_KEY='single # not a comment'
            PLAIN=value # trailing comment
            EMPTY=

            """, file: "secrets/x.env")
        #expect(values == ["HF_TOKEN": "hf_abc def", "WANDB_API_KEY": "single # not a comment", "PLAIN": "value",
                           "EMPTY": ""])
    }

    @Test func malformedLinesNameFileAndLine() {
        #expect { try DotEnv.parse("OK=1\nnot a pair\n", file: "secrets/hf.env") } throws: { error in
            (error as! FlowError).message.hasPrefix("secrets/hf.env:2:")
        }
        #expect { try DotEnv.parse("KEY=\"open\n", file: "f.env") } throws: { error in
            (error as! FlowError).message.contains("f.env:1: unterminated")
        }
    }

    @Test func redactorMasksEveryValueLongestFirst() {
        let r = Redactor(secrets: ["abc123", "abc123456", ""])
        #expect(r.redact("token abc123456 and abc123.") == "token **** and ****.")
        #expect(r.redact("nothing here") == "nothing here")
    }
}
