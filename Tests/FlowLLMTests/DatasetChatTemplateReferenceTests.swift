import Foundation
import Testing
import FlowLLM

/// One case of `chat_templates.json`, rendered by jinja2 as transformers does (scripts/fixtures/data.py).
private struct ReferenceRendering: Decodable {
    struct Message: Decodable { var role: String; var content: String }
    var template: String, bos: String, eos: String
    var messages: [Message]
    var rendered: String?
    var error: String?
}

@Test func builtInChatTemplatesRenderExactlyAsJinja() throws {
    let cases = try JSONDecoder().decode([ReferenceRendering].self, from: Data(contentsOf: DataTests.fixture("chat_templates.json")))
    #expect(cases.count == 30)
    for c in cases {
        let template = try #require(AxolotlChatTemplate.named(c.template))
        let messages = c.messages.map { ChatTemplateMessage(role: $0.role, content: $0.content) }
        if let expected = c.rendered {
            #expect(try template.render(messages, bosToken: c.bos, eosToken: c.eos) == expected, "\(c.template) \(c.messages.map(\.role))")
        } else {
            let error = #expect(throws: DatasetError.self) { try template.render(messages, bosToken: c.bos, eosToken: c.eos) }
            #expect(error?.message.lowercased().contains(try #require(c.error).lowercased().prefix(30)) == true, "\(c.template)")
        }
    }
}
