"""The official `anthropic` Python package against WWS's `/v1/messages`.

    python messages.py http://127.0.0.1:3000 <bearer token or API key>

Sends a plain and a streamed message (the key in `x-api-key`, as the SDK
sends it), a Claude model name (routed by task, since the providers serve
their own models), then an unknown model, and checks each answer the way an
application would rely on it. Exits non-zero on any mismatch, so the suite
can run it as a test.
"""

import sys

import anthropic


def main(base_url: str, token: str) -> None:
    client = anthropic.Anthropic(base_url=base_url, api_key=token, max_retries=0)
    messages = [{"role": "user", "content": "Say hello"}]

    plain = client.messages.create(
        model="glm-4-plus", max_tokens=256, system="Be brief.", messages=messages
    )
    text = "".join(block.text for block in plain.content if block.type == "text")
    assert text, plain
    assert plain.usage.input_tokens > 0 and plain.usage.output_tokens > 0, plain
    print(f"plain: {text!r}")

    pieces = []
    with client.messages.stream(
        model="glm-4-plus", max_tokens=256, messages=messages
    ) as stream:
        for piece in stream.text_stream:
            pieces.append(piece)
        final = stream.get_final_message()
    assert len(pieces) > 1, pieces
    assert final.stop_reason == "end_turn", final
    assert final.usage.output_tokens > 0, final
    print(f"stream: {''.join(pieces)!r} in {len(pieces)} chunks")

    routed = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=messages
    )
    assert routed.content, routed
    print(f"claude model routed to: {routed.model}")

    try:
        client.messages.create(model="gpt-unknown", max_tokens=64, messages=messages)
    except anthropic.BadRequestError as error:
        assert error.body["error"]["type"] == "model_not_found", error.body
        print(f"unknown model: {error.status_code}")
    else:
        raise AssertionError("an unknown model was accepted")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
