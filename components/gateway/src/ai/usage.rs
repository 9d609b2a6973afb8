//! Reading the provider's token count from a completion on its way to the
//! client, so the Rate Limiter can charge what was actually used.
//!
//! A JSON completion carries `usage` at the top level; a stream carries it in
//! a final chunk when the request asked for `stream_options.include_usage`.
//! WWS always asks, and drops that chunk again when the client did not, so
//! clients see exactly the stream they requested. A Messages API stream
//! reports usage in its own events: input tokens in `message_start`, output
//! tokens so far in each `message_delta`; nothing is dropped there.

use std::borrow::Cow;

use serde_json::Value;

use super::sse::{self, EventSplitter};
use crate::dialect::Dialect;
use crate::filter::Filter;

/// Completions larger than this are passed on without looking for usage;
/// their reservation stands as charged.
const MAX_INSPECTED_BYTES: usize = 8 * 1024 * 1024;

pub enum UsageTap {
    Json {
        body: Vec<u8>,
    },
    Stream {
        dialect: Dialect,
        splitter: EventSplitter,
        forward_usage_chunk: bool,
        total: Option<u64>,
        /// A Messages API stream's input tokens, from `message_start`.
        input_tokens: u64,
        /// The events worth caching (usage chunks left out), while they fit.
        recording: Option<Vec<u8>>,
        /// What the events so far say about the stream as a cache entry.
        shape: StreamShape,
    },
}

/// Whether a stream is one a client would accept whole: every event a
/// comment or a `data:` chunk of JSON (not an in-band error), ending with
/// `data: [DONE]`; in the Messages API, named events of JSON (none an
/// `error`) ending with `message_stop`. Anything else is passed on but
/// never stored.
#[derive(Clone, Copy)]
pub struct StreamShape {
    dialect: Dialect,
    done: bool,
    malformed: bool,
}

impl StreamShape {
    fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            done: false,
            malformed: false,
        }
    }

    fn see(&mut self, event: &[u8], data: Option<&str>, chunk: Option<&Value>) {
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

    fn complete(&self) -> bool {
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
fn parse_chunk(data: Option<&str>) -> Option<Value> {
    data.filter(|data| data.trim() != "[DONE]")
        .and_then(|data| serde_json::from_str(data).ok())
}

/// A recording is dropped once it outgrows what the cache would store.
const MAX_RECORDING_BYTES: usize = 1024 * 1024;

impl UsageTap {
    pub fn json() -> Self {
        UsageTap::Json { body: Vec::new() }
    }

    pub fn stream(dialect: Dialect, client_asked_for_usage: bool, record: bool) -> Self {
        UsageTap::Stream {
            dialect,
            splitter: EventSplitter::default(),
            forward_usage_chunk: client_asked_for_usage,
            total: None,
            input_tokens: 0,
            recording: record.then(Vec::new),
            shape: StreamShape::new(dialect),
        }
    }

    /// The recorded events, if recording was asked for, they fit, and the
    /// stream was complete and well formed.
    pub fn take_recording(&mut self) -> Option<Vec<u8>> {
        match self {
            UsageTap::Json { .. } => None,
            UsageTap::Stream {
                recording, shape, ..
            } => recording.take().filter(|_| shape.complete()),
        }
    }

    /// Bytes still held when the upstream body ended, to forward as is.
    pub fn remainder(&mut self) -> Vec<u8> {
        match self {
            UsageTap::Json { .. } => Vec::new(),
            UsageTap::Stream {
                splitter, shape, ..
            } => {
                let rest = std::mem::take(splitter).finish();
                // An unterminated last event was never recorded.
                shape.malformed |= !rest.iter().all(u8::is_ascii_whitespace);
                rest
            }
        }
    }

    /// Total tokens the provider reported, if it did.
    pub fn total_tokens(&self) -> Option<u64> {
        match self {
            UsageTap::Json { body } => total_tokens(body),
            UsageTap::Stream { total, .. } => *total,
        }
    }
}

impl Filter for UsageTap {
    /// Looks at one chunk and returns what to forward to the client.
    fn pass<'a>(&mut self, chunk: &'a [u8]) -> Cow<'a, [u8]> {
        match self {
            UsageTap::Json { body } => {
                if body.len() + chunk.len() <= MAX_INSPECTED_BYTES {
                    body.extend_from_slice(chunk);
                }
                Cow::Borrowed(chunk)
            }
            UsageTap::Stream {
                dialect,
                splitter,
                forward_usage_chunk,
                total,
                input_tokens,
                recording,
                shape,
            } => {
                let mut forward = Vec::with_capacity(chunk.len());
                let events = splitter.push(chunk);
                if splitter.overflowed() {
                    // No longer whole events: passed on, never recorded.
                    shape.malformed = true;
                    *recording = None;
                    for bytes in events {
                        forward.extend_from_slice(&bytes);
                    }
                    return Cow::Owned(forward);
                }
                for event in events {
                    let data = sse::data(&event);
                    let parsed = parse_chunk(data.as_deref());
                    shape.see(&event, data.as_deref(), parsed.as_ref());
                    if *dialect == Dialect::Anthropic {
                        if let Some(tokens) = parsed
                            .as_ref()
                            .and_then(|event| named_event_usage(event, input_tokens))
                        {
                            *total = Some(tokens);
                        }
                        record(recording, &event);
                        forward.extend_from_slice(&event);
                        continue;
                    }
                    let usage = parsed.as_ref().and_then(usage_chunk);
                    if let Some((tokens, _)) = usage {
                        *total = Some(tokens);
                    }
                    let usage_only = usage.is_some_and(|(_, has_choices)| !has_choices);
                    if !usage_only {
                        record(recording, &event);
                    }
                    if !usage_only || *forward_usage_chunk {
                        forward.extend_from_slice(&event);
                    }
                }
                Cow::Owned(forward)
            }
        }
    }
}

fn record(recording: &mut Option<Vec<u8>>, event: &[u8]) {
    if let Some(recorded) = recording {
        if recorded.len() + event.len() > MAX_RECORDING_BYTES {
            *recording = None;
        } else {
            recorded.extend_from_slice(event);
        }
    }
}

/// Total tokens in a JSON completion body.
pub fn total_tokens(body: &[u8]) -> Option<u64> {
    let value: Value = serde_json::from_slice(body).ok()?;
    usage_total(&value)
}

/// A stream chunk that carries usage: its total and whether it also carries
/// choices (some providers put usage on the last content chunk).
fn usage_chunk(value: &Value) -> Option<(u64, bool)> {
    let total = usage_total(value)?;
    let has_choices = value
        .get("choices")
        .and_then(Value::as_array)
        .is_some_and(|choices| !choices.is_empty());
    Some((total, has_choices))
}

/// The total a completion's `usage` reports: `total_tokens`, else the sum
/// of its parts in OpenAI's (`prompt_tokens`) or Anthropic's
/// (`input_tokens`) naming.
fn usage_total(value: &Value) -> Option<u64> {
    let usage = value.get("usage")?;
    let part = |name| usage.get(name).and_then(Value::as_u64);
    // Saturating: a provider's absurd counts must charge the most, not wrap.
    let sum = |input, output| Some(part(input)?.saturating_add(part(output).unwrap_or(0)));
    part("total_tokens")
        .or_else(|| sum("prompt_tokens", "completion_tokens"))
        .or_else(|| sum("input_tokens", "output_tokens"))
}

/// The stream's total so far after a Messages API event: `message_start`
/// names the input tokens (kept in `input`), each `message_delta` the
/// output tokens so far (and, from some providers, the input again).
fn named_event_usage(event: &Value, input: &mut u64) -> Option<u64> {
    let usage = match event.get("type").and_then(Value::as_str)? {
        "message_start" => event.get("message")?.get("usage")?,
        "message_delta" => event.get("usage")?,
        _ => return None,
    };
    let part = |name| usage.get(name).and_then(Value::as_u64);
    if let Some(tokens) = part("input_tokens") {
        *input = tokens;
    }
    Some(input.saturating_add(part("output_tokens").unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_usage_counts_saturate() {
        let usage =
            serde_json::json!({ "usage": { "prompt_tokens": u64::MAX, "completion_tokens": 5 } });
        assert_eq!(usage_total(&usage), Some(u64::MAX));
    }

    const CONTENT: &[u8] = b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n";
    const USAGE: &[u8] =
        b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}\n\n";
    const DONE: &[u8] = b"data: [DONE]\n\n";

    fn run(tap: &mut UsageTap, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend_from_slice(&tap.pass(chunk));
        }
        out.extend(tap.remainder());
        out
    }

    #[test]
    fn strips_the_usage_chunk_the_client_did_not_ask_for() {
        let mut tap = UsageTap::stream(Dialect::OpenAi, false, true);
        let (first, second) = USAGE.split_at(20);
        let out = run(&mut tap, &[CONTENT, first, second, DONE]);
        assert_eq!(out, [CONTENT, DONE].concat());
        assert_eq!(tap.total_tokens(), Some(10));
        assert_eq!(tap.take_recording(), Some([CONTENT, DONE].concat()));
    }

    #[test]
    fn keeps_it_when_the_client_asked() {
        let mut tap = UsageTap::stream(Dialect::OpenAi, true, false);
        let out = run(&mut tap, &[CONTENT, USAGE, DONE]);
        assert_eq!(out, [CONTENT, USAGE, DONE].concat());
        assert_eq!(tap.total_tokens(), Some(10));
    }

    #[test]
    fn records_only_complete_well_formed_streams() {
        let recorded = |chunks: &[&[u8]]| {
            let mut tap = UsageTap::stream(Dialect::OpenAi, false, true);
            let out = run(&mut tap, chunks);
            assert_eq!(out, chunks.concat(), "passed on unchanged");
            tap.take_recording()
        };
        assert!(recorded(&[CONTENT, DONE]).is_some());
        assert!(recorded(&[b": keep-alive\n\n", CONTENT, DONE]).is_some());
        for broken in [
            &[CONTENT][..],
            &[b"garbage\n\n", CONTENT, DONE],
            &[b"{\"choices\":[]}\n\n", DONE],
            &[b"data: {\"choices\": [\n\n", DONE],
            &[
                CONTENT,
                b"data: {\"error\":{\"message\":\"overloaded\"}}\n\n",
                DONE,
            ],
            &[CONTENT, b"event: error\ndata: {}\n\n", DONE],
            &[CONTENT, b"data: [DONE]"],
        ] {
            assert!(recorded(broken).is_none(), "{:?}", broken.concat());
        }
        let whole = [CONTENT, USAGE, DONE].concat();
        assert!(is_complete_stream(Dialect::OpenAi, &whole));
        assert!(!is_complete_stream(Dialect::OpenAi, CONTENT));
        assert!(!is_complete_stream(Dialect::OpenAi, b"{\"choices\":[]}"));
    }

    #[test]
    fn reads_usage_from_a_json_completion() {
        let mut tap = UsageTap::json();
        let body = br#"{"choices":[],"usage":{"prompt_tokens":40,"completion_tokens":2}}"#;
        let out = run(&mut tap, &[&body[..10], &body[10..]]);
        assert_eq!(out, body);
        assert_eq!(tap.total_tokens(), Some(42));
        assert_eq!(total_tokens(b"not json"), None);
    }

    const START: &[u8] = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n";
    const DELTA: &[u8] = b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n";
    const PING: &[u8] = b"event: ping\ndata: {\"type\":\"ping\"}\n\n";
    const MESSAGE_DELTA: &[u8] = b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":30}}\n\n";
    const STOP: &[u8] = b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    #[test]
    fn a_messages_stream_passes_whole_and_counts_input_plus_output() {
        let mut tap = UsageTap::stream(Dialect::Anthropic, false, true);
        let whole = [START, PING, DELTA, MESSAGE_DELTA, STOP].concat();
        let (first, second) = whole.split_at(41);
        let out = run(&mut tap, &[first, second]);
        assert_eq!(out, whole, "nothing is dropped from a Messages API stream");
        assert_eq!(tap.total_tokens(), Some(42));
        assert_eq!(tap.take_recording(), Some(whole.clone()));
        assert!(is_complete_stream(Dialect::Anthropic, &whole));
        assert!(!is_complete_stream(Dialect::OpenAi, &whole));
    }

    #[test]
    fn a_messages_stream_is_stored_only_when_it_stopped_cleanly() {
        let error = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n";
        for broken in [
            &[START, DELTA][..],
            &[START, DELTA, error, STOP],
            &[
                START,
                b"event: content_block_delta\ndata: {\"type\n\n",
                STOP,
            ],
            &[START, b"garbage\n\n", STOP],
        ] {
            let mut tap = UsageTap::stream(Dialect::Anthropic, false, true);
            run(&mut tap, broken);
            assert!(tap.take_recording().is_none(), "{:?}", broken.concat());
        }
        let mut cut = UsageTap::stream(Dialect::Anthropic, false, false);
        run(&mut cut, &[START, DELTA]);
        assert_eq!(cut.total_tokens(), Some(13), "what message_start reported");
    }

    #[test]
    fn reads_usage_from_a_messages_answer() {
        let body =
            br#"{"type":"message","content":[],"usage":{"input_tokens":40,"output_tokens":2}}"#;
        assert_eq!(total_tokens(body), Some(42));
    }
}
