//! The two wire dialects a client may speak to the AI routes: OpenAI's chat
//! completions and Anthropic's Messages API. Both providers publish an
//! endpoint for each, so a request is sent in the dialect it arrived in and
//! its answer passed back untranslated; what differs is where it goes, how
//! an answer is recognised, how usage is reported and how a broken stream
//! is told to the client.

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
}

/// The Messages API version sent when the client names none: the one every
/// Anthropic SDK has sent since the API's release.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

impl Dialect {
    /// The dialect of a request to one of the AI routes.
    pub fn of_path(path: &str) -> Self {
        if path == "/v1/messages" {
            Dialect::Anthropic
        } else {
            Dialect::OpenAi
        }
    }

    /// Whether `path` is one of the Messages API's routes (`/v1/messages`
    /// and its `count_tokens`), whose SDKs send the key in `x-api-key`.
    pub fn is_messages_api(path: &str) -> bool {
        path == "/v1/messages" || path.starts_with("/v1/messages/")
    }

    /// What follows the provider's base URL for this dialect: the SDKs
    /// append these same paths to the bases the providers publish.
    pub fn upstream_path(self) -> &'static str {
        match self {
            Dialect::OpenAi => "/chat/completions",
            Dialect::Anthropic => "/v1/messages",
        }
    }

    /// Whether a plain 200 body is an answer in this dialect. Anything else
    /// (an HTML error page, a truncated body) is the provider failing.
    pub fn is_answer(self, body: &[u8]) -> bool {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return false;
        };
        match self {
            Dialect::OpenAi => value.get("choices").is_some_and(Value::is_array),
            Dialect::Anthropic => {
                value.get("type").and_then(Value::as_str) == Some("message")
                    && value.get("content").is_some_and(Value::is_array)
            }
        }
    }

    /// Why a 200 that [`Self::is_answer`] refused is the provider failing.
    pub fn not_an_answer(self) -> &'static str {
        match self {
            Dialect::OpenAi => "answered 200 with a body that is not a chat completion",
            Dialect::Anthropic => "answered 200 with a body that is not a Messages API message",
        }
    }

    /// The in-band event that ends a stream whose provider failed after its
    /// head was sent, in the shape the client's SDK raises as an error.
    pub fn stream_error_event(self, message: &str) -> String {
        match self {
            // Written by hand to keep the field order clients have seen.
            Dialect::OpenAi => format!(
                "event: error\ndata: {{\"error\":{{\"type\":\"upstream_error\",\"message\":{}}}}}\n\n",
                Value::from(message)
            ),
            Dialect::Anthropic => {
                let data = json!({
                    "type": "error",
                    "error": { "type": "api_error", "message": message },
                });
                format!("event: error\ndata: {data}\n\n")
            }
        }
    }

    /// What ends a stream the request's deadline cut short: the error event,
    /// then the dialect's end marker, so a client parses a whole stream
    /// that says why it is short instead of a connection that just stops.
    pub fn deadline_ending(self) -> String {
        let message = "the request reached the platform's time limit (request_deadline_ms); \
                       the answer was cut off";
        match self {
            Dialect::OpenAi => {
                let error = json!({ "error": { "type": "deadline_exceeded", "message": message } });
                format!("event: error\ndata: {error}\n\ndata: [DONE]\n\n")
            }
            Dialect::Anthropic => {
                let error = json!({
                    "type": "error",
                    "error": { "type": "api_error", "message": message },
                });
                format!(
                    "event: error\ndata: {error}\n\n\
                     event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_cut_by_the_deadline_still_ends_as_its_dialect_ends() {
        let openai = Dialect::OpenAi.deadline_ending();
        assert!(openai.contains("\"deadline_exceeded\""), "{openai}");
        assert!(openai.ends_with("data: [DONE]\n\n"));
        let anthropic = Dialect::Anthropic.deadline_ending();
        assert!(anthropic.starts_with("event: error\n"), "{anthropic}");
        assert!(anthropic.ends_with("data: {\"type\":\"message_stop\"}\n\n"));
    }

    #[test]
    fn only_the_messages_path_speaks_anthropic() {
        assert_eq!(Dialect::of_path("/v1/messages"), Dialect::Anthropic);
        for path in ["/v1/chat/completions", "/api/ai/chat", "/v1/messages/x"] {
            assert_eq!(Dialect::of_path(path), Dialect::OpenAi, "{path}");
        }
        assert!(Dialect::is_messages_api("/v1/messages/count_tokens"));
        assert!(!Dialect::is_messages_api("/v1/messagesx"));
    }

    #[test]
    fn answers_are_recognised_by_their_dialects_shape() {
        let openai = br#"{"choices":[],"usage":{}}"#;
        let anthropic = br#"{"type":"message","content":[{"type":"text","text":"hi"}]}"#;
        assert!(Dialect::OpenAi.is_answer(openai));
        assert!(!Dialect::OpenAi.is_answer(anthropic));
        assert!(Dialect::Anthropic.is_answer(anthropic));
        assert!(!Dialect::Anthropic.is_answer(openai));
        for body in [
            &br#"{"type":"error","error":{"type":"overloaded_error"}}"#[..],
            br#"{"type":"message","content":"#,
            b"<html>502</html>",
        ] {
            assert!(!Dialect::Anthropic.is_answer(body));
        }
        for body in [
            &b"<html>502 Bad Gateway</html>"[..],
            br#"{"choices":[{"message":"#,
            br#"{"id":"x","object":"chat.completion"}"#,
            br#"{"choices":"none"}"#,
            b"[]",
            b"",
        ] {
            assert!(!Dialect::OpenAi.is_answer(body), "{body:?}");
        }
    }

    #[test]
    fn a_broken_stream_ends_with_an_error_event_each_sdk_raises() {
        let event = Dialect::Anthropic.stream_error_event("provider stream ended");
        let data = event
            .strip_prefix("event: error\ndata: ")
            .and_then(|rest| rest.strip_suffix("\n\n"))
            .unwrap();
        let value: Value = serde_json::from_str(data).unwrap();
        assert_eq!(value["type"], "error");
        assert_eq!(value["error"]["message"], "provider stream ended");
        let openai = Dialect::OpenAi.stream_error_event("x");
        let data = openai.strip_prefix("event: error\ndata: ").unwrap();
        let value: Value = serde_json::from_str(data.trim_end()).unwrap();
        assert_eq!(value["error"]["message"], "x");
    }
}
