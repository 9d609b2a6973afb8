//! Serving a cached completion in the shape the client asked for: a stream
//! recorded as server-sent events can answer a plain request (assembled into
//! one completion), and a plain completion can answer a streaming request
//! (sent as one content chunk and a finishing chunk).

use serde_json::{Map, Value, json};

use super::sse::{self, EventSplitter};

/// OpenAI's ceiling for `n`: a choice index at or past it is no completion
/// anyone asked for, and filling the gap up to it would allocate without bound.
const MAX_CHOICES: usize = 128;

/// One `chat.completion` from the chunks of a recorded stream.
pub fn stream_to_completion(events: &[u8]) -> Option<Vec<u8>> {
    let mut splitter = EventSplitter::default();
    let mut choices: Vec<(String, String, Value)> = Vec::new();
    let mut head = Map::new();
    for event in splitter.push(events) {
        let Some(data) = sse::data(&event) else {
            continue;
        };
        if data.trim() == "[DONE]" {
            break;
        }
        let chunk: Value = serde_json::from_str(&data).ok()?;
        for field in ["id", "created", "model"] {
            if let Some(value) = chunk.get(field) {
                head.insert(field.into(), value.clone());
            }
        }
        for choice in chunk
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            let index = usize::try_from(index)
                .ok()
                .filter(|index| *index < MAX_CHOICES)?;
            while choices.len() <= index {
                choices.push(("assistant".into(), String::new(), Value::Null));
            }
            let delta = choice.get("delta");
            if let Some(role) = delta.and_then(|d| d.get("role")).and_then(Value::as_str) {
                choices[index].0 = role.to_string();
            }
            if let Some(text) = delta.and_then(|d| d.get("content")).and_then(Value::as_str) {
                choices[index].1.push_str(text);
            }
            if let Some(reason) = choice.get("finish_reason").filter(|r| !r.is_null()) {
                choices[index].2 = reason.clone();
            }
        }
    }
    if choices.is_empty() {
        return None;
    }
    let mut completion = head;
    completion.insert("object".into(), json!("chat.completion"));
    completion.insert(
        "choices".into(),
        Value::Array(
            choices
                .into_iter()
                .enumerate()
                .map(|(index, (role, content, reason))| {
                    json!({
                        "index": index,
                        "message": { "role": role, "content": content },
                        "finish_reason": if reason.is_null() { json!("stop") } else { reason },
                    })
                })
                .collect(),
        ),
    );
    serde_json::to_vec(&Value::Object(completion)).ok()
}

/// A stream of `chat.completion.chunk` events from one completion.
pub fn completion_to_stream(completion: &[u8]) -> Option<Vec<u8>> {
    let completion: Value = serde_json::from_slice(completion).ok()?;
    let choices = completion.get("choices")?.as_array()?;
    let chunk = |choices: Vec<Value>| {
        let mut chunk = json!({ "object": "chat.completion.chunk", "choices": choices });
        for field in ["id", "created", "model"] {
            if let Some(value) = completion.get(field) {
                chunk[field] = value.clone();
            }
        }
        format!("data: {chunk}\n\n")
    };
    let content = choices
        .iter()
        .map(|choice| {
            let message = choice.get("message").cloned().unwrap_or(Value::Null);
            json!({
                "index": choice.get("index").cloned().unwrap_or(json!(0)),
                "delta": { "role": message.get("role").cloned().unwrap_or(json!("assistant")),
                           "content": message.get("content").cloned().unwrap_or(json!("")) },
                "finish_reason": null,
            })
        })
        .collect();
    let finish = choices
        .iter()
        .map(|choice| {
            json!({
                "index": choice.get("index").cloned().unwrap_or(json!(0)),
                "delta": {},
                "finish_reason": choice.get("finish_reason").cloned().unwrap_or(json!("stop")),
            })
        })
        .collect();
    Some(format!("{}{}data: [DONE]\n\n", chunk(content), chunk(finish)).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = concat!(
        "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n",
        "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n",
    );

    #[test]
    fn a_recorded_stream_becomes_one_completion() {
        let completion: Value =
            serde_json::from_slice(&stream_to_completion(STREAM.as_bytes()).unwrap()).unwrap();
        assert_eq!(completion["object"], "chat.completion");
        assert_eq!(completion["id"], "c1");
        assert_eq!(completion["choices"][0]["message"]["content"], "Hello");
        assert_eq!(completion["choices"][0]["finish_reason"], "stop");
        assert!(stream_to_completion(b"data: [DONE]\n\n").is_none());
    }

    #[test]
    fn a_completion_becomes_a_stream_and_back() {
        let completion = stream_to_completion(STREAM.as_bytes()).unwrap();
        let stream = completion_to_stream(&completion).unwrap();
        let text = String::from_utf8(stream.clone()).unwrap();
        assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
        let again: Value = serde_json::from_slice(&stream_to_completion(&stream).unwrap()).unwrap();
        assert_eq!(again["choices"][0]["message"]["content"], "Hello");
        assert!(completion_to_stream(b"[]").is_none());
    }

    #[test]
    fn an_absurd_choice_index_is_not_replayed() {
        // Found by the sse fuzz target: replaying this allocated ~29 billion
        // empty choices.
        let absurd = "data: {\"choices\":[{\"index\":28888888888,\"delta\":{}}]}\n\n";
        assert!(stream_to_completion(absurd.as_bytes()).is_none());
        let last = "data: {\"choices\":[{\"index\":127,\"delta\":{\"content\":\"x\"}}]}\n\n";
        let completion: Value =
            serde_json::from_slice(&stream_to_completion(last.as_bytes()).unwrap()).unwrap();
        assert_eq!(completion["choices"][127]["message"]["content"], "x");
    }
}
