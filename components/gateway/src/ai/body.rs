//! Request bodies of the AI routes, normalised to one chat request in the
//! dialect the client speaks.
//!
//! `/v1/chat/completions` and Anthropic's `/v1/messages` are taken as is.
//! The seed's `/api/ai/chat` sends `{messages, context}`, where a string
//! `context` becomes a system message; `/api/ai/generate` sends
//! `{prompt, system?}`, which becomes messages.

use serde_json::{Map, Value, json};

use crate::cache_control::CacheControl;
use crate::dialect::Dialect;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("request body is not valid JSON")]
    NotJson,
    #[error("request body must be a JSON object")]
    NotObject,
    #[error("{0}")]
    Invalid(&'static str),
    #[error("\"{field}\" must be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
}

/// A field's name, the type it must have in words, and the check.
type TypedField = (&'static str, &'static str, fn(&Value) -> bool);

/// Fields the gateway acts on, with the JSON type each must have: a
/// `"stream": "true"` forwarded as is would make a lax provider stream to a
/// gateway expecting JSON, and the client's mistake would count against it.
const TYPED_FIELDS: [TypedField; 9] = [
    ("stream", "a boolean", Value::is_boolean),
    ("stream_options", "an object", Value::is_object),
    ("max_tokens", "a non-negative integer", Value::is_u64),
    (
        "max_completion_tokens",
        "a non-negative integer",
        Value::is_u64,
    ),
    ("context_length", "a non-negative integer", Value::is_u64),
    ("temperature", "a number", Value::is_number),
    ("task_type", "a string", Value::is_string),
    ("taskType", "a string", Value::is_string),
    ("model", "a string", Value::is_string),
];

/// Characters per token assumed when estimating prompt size. Real
/// tokenisers average about four characters per token for English and code;
/// three over-estimates by a third, so routing errs toward models that fit.
const CHARS_PER_TOKEN: usize = 3;

/// Client headers a Messages API provider acts on, passed through as sent.
const ANTHROPIC_HEADERS: [&str; 2] = ["anthropic-version", "anthropic-beta"];

#[derive(Debug)]
pub struct ChatRequest {
    body: Map<String, Value>,
    dialect: Dialect,
    /// Dialect headers to send on, from [`ANTHROPIC_HEADERS`].
    passed_headers: Vec<(&'static str, String)>,
}

impl ChatRequest {
    pub fn parse(path: &str, bytes: &[u8]) -> Result<Self, BodyError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|_| BodyError::NotJson)?;
        let Value::Object(mut body) = value else {
            return Err(BodyError::NotObject);
        };
        match path {
            "/api/ai/generate" => {
                let prompt = body
                    .remove("prompt")
                    .and_then(|prompt| prompt.as_str().map(str::to_string))
                    .ok_or(BodyError::Invalid("\"prompt\" must be a string"))?;
                let mut messages = Vec::new();
                if let Some(Value::String(system)) = body.remove("system") {
                    messages.push(json!({ "role": "system", "content": system }));
                }
                messages.push(json!({ "role": "user", "content": prompt }));
                body.insert("messages".into(), Value::Array(messages));
            }
            "/api/ai/chat" => {
                if let Some(Value::String(context)) = body.remove("context") {
                    let messages = body
                        .get_mut("messages")
                        .and_then(Value::as_array_mut)
                        .ok_or(BodyError::Invalid("\"messages\" must be an array"))?;
                    messages.insert(0, json!({ "role": "system", "content": context }));
                }
            }
            _ => {}
        }
        let dialect = Dialect::of_path(path);
        if dialect == Dialect::Anthropic
            && body
                .get("system")
                .is_some_and(|system| !system.is_string() && !system.is_array())
        {
            return Err(BodyError::WrongType {
                field: "system",
                expected: "a string or an array of content blocks",
            });
        }
        match body.get("messages") {
            Some(Value::Array(messages)) if !messages.is_empty() => {}
            _ => return Err(BodyError::Invalid("\"messages\" must be a non-empty array")),
        }
        if let Some((field, expected, _)) = TYPED_FIELDS
            .iter()
            .find(|(field, _, is_valid)| body.get(*field).is_some_and(|value| !is_valid(value)))
        {
            return Err(BodyError::WrongType { field, expected });
        }
        Ok(Self {
            body,
            dialect,
            passed_headers: Vec::new(),
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Keeps the client's value of a header the dialect's providers act on
    /// (`anthropic-version`, `anthropic-beta`); others are not sent on.
    pub fn pass_header(&mut self, name: &str, value: &str) {
        if self.dialect != Dialect::Anthropic {
            return;
        }
        if let Some(known) = ANTHROPIC_HEADERS.iter().find(|known| **known == name) {
            self.passed_headers.push((known, value.to_string()));
        }
    }

    /// The headers kept by [`Self::pass_header`].
    pub fn passed_headers(&self) -> &[(&'static str, String)] {
        &self.passed_headers
    }

    pub fn model(&self) -> Option<String> {
        self.body.get("model")?.as_str().map(str::to_string)
    }

    pub fn task_type(&self) -> Option<String> {
        ["task_type", "taskType"]
            .iter()
            .find_map(|name| self.body.get(*name)?.as_str().map(str::to_string))
    }

    pub fn is_stream(&self) -> bool {
        self.body.get("stream").and_then(Value::as_bool) == Some(true)
    }

    /// Whether the client itself asked for a usage chunk at the end of its
    /// stream (`stream_options.include_usage`).
    pub fn asks_for_usage(&self) -> bool {
        self.body
            .get("stream_options")
            .and_then(|options| options.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true)
    }

    /// The tokens the request may use: the prompt (the larger of the
    /// client's `context_length` and the gateway's own estimate, so a small
    /// figure cannot dodge a budget) plus the completion bound.
    pub fn context_tokens(&self) -> u32 {
        let explicit = self
            .body
            .get("context_length")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        // In u64 and saturating: any `max_tokens` a client sends must give
        // the largest estimate, not wrap (or, on wasm32, truncate) to a small one.
        let prompt = self.prompt_tokens().max(explicit);
        let completion = self.completion_bound().unwrap_or(0);
        prompt.saturating_add(completion).min(u64::from(u32::MAX)) as u32
    }

    /// The prompt's size estimated from the characters of every message
    /// (and of a Messages API request's top-level `system`).
    pub fn prompt_tokens(&self) -> u64 {
        let messages: usize = self
            .body
            .get("messages")
            .and_then(Value::as_array)
            .map(|messages| messages.iter().map(|m| m.to_string().len()).sum())
            .unwrap_or(0);
        let system = self
            .body
            .get("system")
            .map_or(0, |system| system.to_string().len());
        (messages + system).div_ceil(CHARS_PER_TOKEN) as u64
    }

    /// The client's own bound on the completion, either spelling.
    fn completion_bound(&self) -> Option<u64> {
        ["max_tokens", "max_completion_tokens"]
            .iter()
            .filter_map(|field| self.body.get(*field)?.as_u64())
            .min()
    }

    /// Bounds a completion the client left unbounded at `allowance`
    /// tokens (`max_tokens` sent to the provider), so the token reservation
    /// covers the whole answer instead of a guess at it.
    pub fn bound_completion(&mut self, allowance: u64) {
        if self.completion_bound().is_none() {
            self.body
                .insert("max_tokens".into(), Value::from(allowance.max(1)));
        }
    }

    /// Cached when the answer is deterministic (`temperature: 0`) or the
    /// client opted in with `Cache-Control: max-age=N`, never when it sent
    /// `no-store` or `no-cache`.
    pub fn is_cacheable(&self, cache_control: &CacheControl) -> bool {
        if cache_control.no_store || cache_control.no_cache {
            return false;
        }
        self.is_deterministic() || cache_control.max_age.is_some_and(|secs| secs > 0)
    }

    /// `temperature: 0`: the same request should get the same answer.
    pub fn is_deterministic(&self) -> bool {
        self.body.get("temperature").and_then(Value::as_f64) == Some(0.0)
    }

    /// What identifies the answer for the cache: the body as the provider
    /// gets it for `model`, minus how it is delivered (`stream`,
    /// `stream_options`), so streamed and plain chat completions share
    /// entries. A Messages API answer is replayed only in the shape it was
    /// recorded in, so there `stream` stays part of the key.
    pub fn cache_body(&self, model: &str) -> Vec<u8> {
        let mut body = self.for_model(model);
        if self.dialect == Dialect::OpenAi {
            for delivery in ["stream", "stream_options"] {
                body.remove(delivery);
            }
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The same request with `partial` as the start of the assistant's
    /// answer (a prefill), for a target that continues a stream another one
    /// began. The Messages API refuses a prefill ending in whitespace; the
    /// client has that whitespace already.
    pub fn with_prefill(&self, partial: &str) -> Self {
        let mut body = self.body.clone();
        let text = match self.dialect {
            Dialect::Anthropic => partial.trim_end(),
            Dialect::OpenAi => partial,
        };
        if let Some(Value::Array(messages)) = body.get_mut("messages") {
            messages.push(json!({ "role": "assistant", "content": text }));
        }
        Self {
            body,
            dialect: self.dialect,
            passed_headers: self.passed_headers.clone(),
        }
    }

    /// The body sent to a provider: the client's, with the chosen model,
    /// without the fields only WWS understands, and for streams with the
    /// usage chunk requested so the actual tokens can be charged.
    pub fn provider_body(&self, model: &str) -> Vec<u8> {
        let mut body = self.for_model(model);
        // Messages API streams carry usage in their own events.
        if self.is_stream() && self.dialect == Dialect::OpenAi {
            let options = body.entry("stream_options").or_insert_with(|| json!({}));
            match options.as_object_mut() {
                Some(options) => {
                    options.insert("include_usage".into(), Value::Bool(true));
                }
                None => *options = json!({ "include_usage": true }),
            }
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The client's body for `model`, without the fields only WWS understands.
    fn for_model(&self, model: &str) -> Map<String, Value> {
        let mut body = self.body.clone();
        for local in ["task_type", "taskType", "context_length"] {
            body.remove(local);
        }
        body.insert("model".into(), Value::String(model.to_string()));
        body
    }
}

#[cfg(test)]
mod tests;
