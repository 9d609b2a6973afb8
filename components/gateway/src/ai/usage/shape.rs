//! Whether a stream is whole enough to store: a cache entry must be what a
//! client would have accepted, never a stream that broke off or carried an
//! in-band error.

use serde_json::Value;

use crate::ai::sse::{self, EventSplitter};
use crate::dialect::Dialect;

/// Whether a stream is one a client would accept whole: every event a
/// comment or a `data:` chunk of JSON (not an in-band error), ending with
/// `data: [DONE]`; in the Messages API, named events of JSON (none an
/// `error`) ending with `message_stop`. Anything else is passed on but
/// never stored.
#[derive(Clone, Copy)]
pub struct StreamShape {
    dialect: Dialect,
    done: bool,
    /// Set by the tap too, for what only it sees (overflow, a cut-off end).
    pub malformed: bool,
}

impl StreamShape {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            done: false,
            malformed: false,
        }
    }

    pub fn see(&mut self, event: &[u8], data: Option<&str>, chunk: Option<&Value>) {
        if self.dialect == Dialect::Anthropic {
            return self.see_named(event, data, chunk);
        }
        let clean = sse::only_data_lines(event)
            && match data {
                None => true,
                Some(data) if data.trim() == "[DONE]" => {
                    self.done = true;
                    true
                }
                Some(_) => chunk.is_some_and(|chunk| chunk.get("error").is_none()),
            };
        self.malformed |= !clean;
    }

    fn see_named(&mut self, event: &[u8], data: Option<&str>, chunk: Option<&Value>) {
        let kind = chunk
            .and_then(|chunk| chunk.get("type"))
            .and_then(Value::as_str);
        let clean = sse::only_named_data_lines(event)
            && match data {
                None => true,
                Some(_) => kind.is_some_and(|kind| kind != "error"),
            };
        self.done |= kind == Some("message_stop");
        self.malformed |= !clean;
    }

    pub fn complete(&self) -> bool {
        self.done && !self.malformed
    }
}

/// Whether `events`, a stream read whole, is complete and well formed.
pub fn is_complete_stream(dialect: Dialect, events: &[u8]) -> bool {
    let mut splitter = EventSplitter::default();
    let mut shape = StreamShape::new(dialect);
    for event in splitter.push(events) {
        let data = sse::data(&event);
        let chunk = parse_chunk(data.as_deref());
        shape.see(&event, data.as_deref(), chunk.as_ref());
    }
    splitter.finish().iter().all(u8::is_ascii_whitespace) && shape.complete()
}

/// An event's data as JSON, unless it is the `[DONE]` marker.
pub fn parse_chunk(data: Option<&str>) -> Option<Value> {
    data.filter(|data| data.trim() != "[DONE]")
        .and_then(|data| serde_json::from_str(data).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_read_whole_is_complete_only_in_its_own_dialect() {
        let chat = b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n";
        assert!(is_complete_stream(Dialect::OpenAi, chat));
        assert!(!is_complete_stream(Dialect::OpenAi, &chat[..40]));
        assert!(!is_complete_stream(Dialect::OpenAi, b"{\"choices\":[]}"));
        let messages = b"event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        assert!(is_complete_stream(Dialect::Anthropic, messages));
        assert!(!is_complete_stream(Dialect::OpenAi, messages));
        assert!(!is_complete_stream(Dialect::Anthropic, chat));
    }
}
