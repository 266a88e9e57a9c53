"""The official `openai` Python client against a running `flow llm serve` (run by OpenAIClientTests.swift).

Usage: python openai_client_check.py BASE_URL API_KEY MODEL EXPECTED_GREEDY_TEXT
  BASE_URL is the server's URL with /v1; EXPECTED_GREEDY_TEXT is TextGenerator's greedy continuation of
  "The quick brown fox" with 12 new tokens (the Swift test computes it).
Needs `pip install openai` (CI: .ci/run installs it into /opt/flow-ci-venv). Exits 1 naming the first failed check.
"""
import sys

import openai

base_url, api_key, model, expected = sys.argv[1:5]
client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=120)
checks = 0


def check(condition, what):
    global checks
    if not condition:
        print(f"openai client check failed: {what}", file=sys.stderr)
        sys.exit(1)
    checks += 1


models = client.models.list()
check([m.id for m in models.data] == [model], f"models.list() gave {[m.id for m in models.data]}")

completion = client.completions.create(model=model, prompt="The quick brown fox", max_tokens=12, temperature=0)
check(completion.object == "text_completion", f"completion object {completion.object}")
check(completion.choices[0].text == expected, f"completion text {completion.choices[0].text!r} != {expected!r}")
check(completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens,
      f"completion usage {completion.usage}")

pieces = [chunk.choices[0].text for chunk in client.completions.create(
    model=model, prompt="The quick brown fox", max_tokens=12, temperature=0, stream=True) if chunk.choices]
check("".join(pieces) == expected, f"streamed completion {''.join(pieces)!r} != {expected!r}")

messages = [{"role": "user", "content": "Say something"}]
chat = client.chat.completions.create(model=model, messages=messages, max_tokens=10, temperature=0)
check(chat.object == "chat.completion", f"chat object {chat.object}")
check(chat.choices[0].message.role == "assistant", f"chat role {chat.choices[0].message.role}")
check(isinstance(chat.choices[0].message.content, str), "chat content is not a string")
check(chat.choices[0].finish_reason in ("stop", "length"), f"chat finish_reason {chat.choices[0].finish_reason}")

streamed, usage = [], None
for chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=10, temperature=0, stream=True,
                                            stream_options={"include_usage": True}):
    if chunk.usage is not None:
        usage = chunk.usage
    for choice in chunk.choices:
        if choice.delta.content:
            streamed.append(choice.delta.content)
check("".join(streamed) == chat.choices[0].message.content,
      f"streamed chat {''.join(streamed)!r} != {chat.choices[0].message.content!r}")
check(usage is not None and usage.completion_tokens == chat.usage.completion_tokens, f"streamed chat usage {usage}")

try:
    client.completions.create(model="no-such-model", prompt="hi", max_tokens=2)
    check(False, "an unknown model was accepted")
except openai.NotFoundError as error:
    check(error.status_code == 404, f"unknown model status {error.status_code}")

try:
    client.completions.create(model=model, prompt="hi", max_tokens=0)
    check(False, "max_tokens=0 was accepted")
except openai.BadRequestError as error:
    check(error.body.get("param") == "max_tokens", f"max_tokens=0 error {error.body}")

try:
    openai.OpenAI(base_url=base_url, api_key="wrong-key", max_retries=0).models.list()
    check(False, "a wrong API key was accepted")
except openai.AuthenticationError as error:
    check(error.status_code == 401, f"wrong key status {error.status_code}")

print(f"openai client check: {checks} checks passed (openai {openai.__version__})")
