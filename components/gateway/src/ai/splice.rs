//! Failover after the first byte, its pure part. When a provider's stream
//! breaks or stalls once content reached the client, the next target is
//! asked to continue from the text sent so far (an assistant prefill) and
//! its stream is spliced into the same response: its opening events are
//! dropped, its end is held back until a notice has said who continued.
//!
//! Only plain text is carried over: a stream that had begun a tool call or
//! a second choice cannot be continued faithfully, so it ends with the
//! in-band error event as before.

use serde_json::{Value, json};

use crate::dialect::Dialect;

/// Longest partial answer carried into a continuation (a prompt the next
/// target must read again); past it the stream is not continued.
const MAX_PARTIAL_BYTES: usize = 256 * 1024;

/// The text a stream has sent so far, while a continuation can start from it.
#[derive(Debug)]
pub struct Partial {
    text: String,
    resumable: bool,
}

impl Default for Partial {
    fn default() -> Self {
        Self {
            text: String::new(),
            resumable: true,
        }
    }
}

impl Partial {
    /// Takes in one parsed event of the stream.
    pub fn see(&mut self, dialect: Dialect, event: &Value) {
        if !self.resumable {
            return;
        }
        self.resumable = match dialect {
            Dialect::OpenAi => self.see_chunk(event),
            Dialect::Anthropic => self.see_named(event),
        } && self.text.len() <= MAX_PARTIAL_BYTES;
    }

    /// A chat completion chunk: text deltas of the first choice only.
    fn see_chunk(&mut self, chunk: &Value) -> bool {
        let Some(choices) = chunk.get("choices").and_then(Value::as_array) else {
            return true;
        };
        choices.iter().all(|choice| {
            let first = choice.get("index").and_then(Value::as_u64).unwrap_or(0) == 0;
            let delta = choice.get("delta");
            let calls = ["tool_calls", "function_call"]
                .iter()
                .any(|field| delta.and_then(|delta| delta.get(*field)).is_some());
            if let Some(text) = delta
                .and_then(|delta| delta.get("content"))
                .and_then(Value::as_str)
            {
                self.text.push_str(text);
            }
            first && !calls
        })
    }

    /// A Messages API event: one text block, at index 0.
    fn see_named(&mut self, event: &Value) -> bool {
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        match event.get("type").and_then(Value::as_str) {
            Some("content_block_start") => {
                index == 0
                    && event
                        .get("content_block")
                        .and_then(|block| block.get("type"))
                        .and_then(Value::as_str)
                        == Some("text")
            }
            Some("content_block_delta") => {
                let delta = event.get("delta");
                let text = delta
                    .filter(|delta| delta.get("type").and_then(Value::as_str) == Some("text_delta"))
                    .and_then(|delta| delta.get("text"))
                    .and_then(Value::as_str);
                match text {
                    Some(text) if index == 0 => {
                        self.text.push_str(text);
                        true
                    }
                    _ => false,
                }
            }
            _ => true,
        }
    }

    /// Marks the stream as one that cannot be continued (its events could
    /// no longer be read whole).
    pub fn give_up(&mut self) {
        self.resumable = false;
    }

    /// The text to continue from, if there is any and it can be continued.
    pub fn text(&self) -> Option<&str> {
        (self.resumable && !self.text.is_empty()).then_some(self.text.as_str())
    }
}

/// What becomes of one of the continuation's events in the spliced stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Splice {
    Forward,
    /// An opening the client already had from the first stream.
    Drop,
    /// The stream's end, sent after the notice.
    HoldEnd,
}

/// Sorts a continuation's events as they arrive.
#[derive(Debug)]
pub struct Continuation {
    dialect: Dialect,
    opening: bool,
}

impl Continuation {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            opening: true,
        }
    }

    pub fn sort(&mut self, data: Option<&str>, event: Option<&Value>) -> Splice {
        match self.dialect {
            Dialect::OpenAi if data.is_some_and(|data| data.trim() == "[DONE]") => Splice::HoldEnd,
            Dialect::OpenAi => Splice::Forward,
            Dialect::Anthropic => match event.and_then(|e| e.get("type")).and_then(Value::as_str) {
                Some("message_stop") => Splice::HoldEnd,
                Some("message_start" | "content_block_start" | "ping") if self.opening => {
                    Splice::Drop
                }
                _ => {
                    self.opening = false;
                    Splice::Forward
                }
            },
        }
    }
}

/// The event that tells the client its answer was continued by another
/// target: a chunk without choices (as a usage chunk is) for chat
/// completions, an event type the Anthropic SDKs skip for messages.
/// The chunk carries the usual `id`, `created` and `model` (the model that
/// continued) so SDKs that accumulate chunks take it like any other.
pub fn notice(dialect: Dialect, from: &str, to: &str, model: &str, created: u64) -> String {
    let continued = json!({ "from": from, "to": to });
    match dialect {
        Dialect::OpenAi => {
            let chunk = json!({
                "id": "chatcmpl-wws-continued",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "wws_continued": continued,
            });
            format!("data: {chunk}\n\n")
        }
        Dialect::Anthropic => {
            let data = json!({ "type": "wws_continued", "from": from, "to": to });
            format!("event: wws_continued\ndata: {data}\n\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(delta: Value) -> Value {
        json!({ "choices": [{ "index": 0, "delta": delta }] })
    }

    #[test]
    fn collects_the_text_a_chat_stream_sent() {
        let mut partial = Partial::default();
        assert_eq!(partial.text(), None, "nothing sent yet");
        partial.see(Dialect::OpenAi, &chunk(json!({ "role": "assistant" })));
        partial.see(Dialect::OpenAi, &chunk(json!({ "content": "Hel" })));
        partial.see(Dialect::OpenAi, &json!({ "choices": [], "usage": {} }));
        partial.see(Dialect::OpenAi, &chunk(json!({ "content": "lo" })));
        assert_eq!(partial.text(), Some("Hello"));
    }

    #[test]
    fn a_tool_call_or_second_choice_cannot_be_continued() {
        let mut tool = Partial::default();
        tool.see(Dialect::OpenAi, &chunk(json!({ "content": "x" })));
        tool.see(Dialect::OpenAi, &chunk(json!({ "tool_calls": [] })));
        assert_eq!(tool.text(), None);
        let mut second = Partial::default();
        second.see(
            Dialect::OpenAi,
            &json!({ "choices": [{ "index": 1, "delta": { "content": "x" } }] }),
        );
        assert_eq!(second.text(), None);
        let mut blocks = Partial::default();
        blocks.see(
            Dialect::Anthropic,
            &json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "tool_use" } }),
        );
        assert_eq!(blocks.text(), None);
        let mut huge = Partial::default();
        huge.see(
            Dialect::OpenAi,
            &chunk(json!({ "content": "x".repeat(MAX_PARTIAL_BYTES + 1) })),
        );
        assert_eq!(huge.text(), None);
    }

    #[test]
    fn collects_the_text_a_messages_stream_sent() {
        let mut partial = Partial::default();
        for event in [
            json!({ "type": "message_start", "message": {} }),
            json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
            json!({ "type": "ping" }),
            json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": "Hi " } }),
            json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": "there" } }),
        ] {
            partial.see(Dialect::Anthropic, &event);
        }
        assert_eq!(partial.text(), Some("Hi there"));
    }

    #[test]
    fn a_messages_continuation_loses_its_opening_and_holds_its_end() {
        let mut continuation = Continuation::new(Dialect::Anthropic);
        let sort = |continuation: &mut Continuation, kind: &str| {
            let event = json!({ "type": kind });
            continuation.sort(Some(&event.to_string()), Some(&event))
        };
        assert_eq!(sort(&mut continuation, "message_start"), Splice::Drop);
        assert_eq!(sort(&mut continuation, "content_block_start"), Splice::Drop);
        assert_eq!(sort(&mut continuation, "ping"), Splice::Drop);
        assert_eq!(
            sort(&mut continuation, "content_block_delta"),
            Splice::Forward
        );
        assert_eq!(sort(&mut continuation, "ping"), Splice::Forward);
        assert_eq!(sort(&mut continuation, "message_delta"), Splice::Forward);
        assert_eq!(sort(&mut continuation, "message_stop"), Splice::HoldEnd);
        let mut chat = Continuation::new(Dialect::OpenAi);
        assert_eq!(chat.sort(Some("{}"), Some(&json!({}))), Splice::Forward);
        assert_eq!(chat.sort(Some("[DONE]"), None), Splice::HoldEnd);
    }

    #[test]
    fn the_notice_names_both_targets_in_each_dialect() {
        let chat = notice(Dialect::OpenAi, "primary", "fallback", "glm-4-plus", 7);
        let value: Value = serde_json::from_str(chat.strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(value["choices"], json!([]));
        assert_eq!(value["wws_continued"]["to"], "fallback");
        assert_eq!(
            (value["model"].as_str(), value["created"].as_u64()),
            (Some("glm-4-plus"), Some(7))
        );
        let messages = notice(Dialect::Anthropic, "primary", "fallback", "glm-4-plus", 7);
        assert!(messages.starts_with("event: wws_continued\n"), "{messages}");
    }
}
