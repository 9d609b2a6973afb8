"""The official `openai` Python package against WWS's `/v1`.

    python chat.py http://127.0.0.1:3000 <bearer token or API key>

Sends a plain and a streamed completion, then an unknown model, and checks
each answer the way an application would rely on it. Exits non-zero on any
mismatch, so the suite can run it as a test.
"""

import sys

import openai


def main(base_url: str, token: str) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=token, max_retries=0)
    messages = [{"role": "user", "content": "Say hello"}]

    plain = client.chat.completions.create(model="glm-4-plus", messages=messages)
    text = plain.choices[0].message.content
    assert text, plain
    assert plain.usage and plain.usage.total_tokens > 0, plain
    print(f"plain: {text!r}")

    stream = client.chat.completions.create(
        model="glm-4-plus", messages=messages, stream=True
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert len(pieces) > 1, pieces
    print(f"stream: {''.join(pieces)!r} in {len(pieces)} chunks")

    models = [model.id for model in client.models.list()]
    assert "glm-4-plus" in models, models
    print(f"models: {len(models)}")

    try:
        client.chat.completions.create(model="gpt-unknown", messages=messages)
    except openai.BadRequestError as error:
        print(f"unknown model: {error.status_code}")
    else:
        raise AssertionError("an unknown model was accepted")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
