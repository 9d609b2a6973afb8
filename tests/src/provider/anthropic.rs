//! The provider mock's Anthropic Messages answers, as synthetic.new and z.ai
//! give them at `<anthropic base>/v1/messages`: a `message` object, or the
//! named SSE events `message_start` .. `message_stop`, usage split into
//! `input_tokens` (in `message_start`) and `output_tokens` (in `message_delta`).

use serde_json::{Value, json};

use crate::mock::Recorded;

pub fn is_messages(request: &Recorded) -> bool {
    request
        .path_and_query
        .split('?')
        .next()
        .is_some_and(|path| path.ends_with("/v1/messages"))
}

pub fn unauthorized() -> Value {
    json!({ "type": "error", "error": { "type": "authentication_error", "message": "bad key" } })
}

fn text(name: &str, model: &str) -> String {
    format!("{name} answers with {model}")
}

pub fn message(name: &str, model: &str, (input, output): (u64, u64)) -> Value {
    json!({
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{ "type": "text", "text": text(name, model) }],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": { "input_tokens": input, "output_tokens": output },
    })
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The opening events, one `content_block_delta` per word, and (unless
/// `broken`) the closing ones.
pub fn stream_events(
    name: &str,
    model: &str,
    (input, output): (u64, u64),
    words: Option<usize>,
) -> Vec<String> {
    let mut events = vec![
        event(
            "message_start",
            json!({ "type": "message_start", "message": {
                "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": { "input_tokens": input, "output_tokens": 1 },
            }}),
        ),
        event(
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0,
                    "content_block": { "type": "text", "text": "" } }),
        ),
        event("ping", json!({ "type": "ping" })),
    ];
    let answer = text(name, model);
    let all_words: Vec<&str> = answer.split(' ').collect();
    let sent = words.unwrap_or(all_words.len()).min(all_words.len());
    for word in &all_words[..sent] {
        events.push(event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0,
                    "delta": { "type": "text_delta", "text": format!("{word} ") } }),
        ));
    }
    if words.is_some() {
        return events;
    }
    events.push(event(
        "content_block_stop",
        json!({ "type": "content_block_stop", "index": 0 }),
    ));
    events.push(event(
        "message_delta",
        json!({ "type": "message_delta",
                "delta": { "stop_reason": "end_turn", "stop_sequence": null },
                "usage": { "output_tokens": output } }),
    ));
    events.push(event("message_stop", json!({ "type": "message_stop" })));
    events
}
