//! The filter a provider's answer passes through on its way to the client:
//! it reads the token usage, records a stream for the cache while it fits,
//! drops the usage chunk a chat client did not ask for (WWS always asks),
//! and keeps the text sent so far in case the stream must be continued
//! elsewhere. A Messages API stream is passed on whole.

use std::borrow::Cow;

use serde_json::Value;

use super::counts::{named_event_usage, total_tokens, usage_chunk};
use super::meter::Meter;
use super::shape::{StreamShape, parse_chunk};
use crate::ai::splice::{Continuation, Partial, Splice};
use crate::ai::sse::{self, EventSplitter};
use crate::dialect::Dialect;
use crate::filter::Filter;

/// Completions larger than this are passed on without looking for usage;
/// their reservation stands as charged.
const MAX_INSPECTED_BYTES: usize = 8 * 1024 * 1024;

pub enum UsageTap {
    Json { body: Vec<u8> },
    Stream(Box<StreamTap>),
}

pub struct StreamTap {
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
    /// The text sent so far, for a continuation elsewhere.
    partial: Partial,
    /// Set when this stream continues another one (see `ai/splice.rs`).
    continuation: Option<Continuation>,
    /// A continuation's end, held back for the notice to go first.
    held_end: Option<Vec<u8>>,
    /// The principal's token budget, enforced as the text passes.
    meter: Option<Meter>,
}

/// A recording is dropped once it outgrows what the cache would store.
const MAX_RECORDING_BYTES: usize = 1024 * 1024;

impl UsageTap {
    pub fn json() -> Self {
        UsageTap::Json { body: Vec::new() }
    }

    pub fn stream(dialect: Dialect, client_asked_for_usage: bool, record: bool) -> Self {
        UsageTap::Stream(Box::new(StreamTap {
            dialect,
            splitter: EventSplitter::default(),
            forward_usage_chunk: client_asked_for_usage,
            total: None,
            input_tokens: 0,
            recording: record.then(Vec::new),
            shape: StreamShape::new(dialect),
            partial: Partial::default(),
            continuation: None,
            held_end: None,
            meter: None,
        }))
    }

    /// Enforces `meter` on the stream: past its allowance nothing more is
    /// sent and [`Self::cut_off`] says how to end the stream.
    pub fn metered(mut self, meter: Meter) -> Self {
        if let UsageTap::Stream(stream) = &mut self {
            stream.meter = Some(meter);
        }
        self
    }

    /// The meter for a continuation of this stream, if it is metered.
    pub fn meter_to_carry(&self) -> Option<Meter> {
        match self {
            UsageTap::Json { .. } => None,
            UsageTap::Stream(stream) => stream.meter.as_ref().map(Meter::carried_on),
        }
    }

    /// The meter that cut the stream off, if one did.
    pub fn cut_off(&self) -> Option<&Meter> {
        match self {
            UsageTap::Json { .. } => None,
            UsageTap::Stream(stream) => stream.meter.as_ref().filter(|meter| meter.is_exhausted()),
        }
    }

    /// The tap for a stream spliced onto one that broke: never recorded,
    /// its opening events dropped and its end held (see `ai/splice.rs`).
    pub fn continuation(dialect: Dialect, client_asked_for_usage: bool) -> Self {
        let mut tap = Self::stream(dialect, client_asked_for_usage, false);
        if let UsageTap::Stream(stream) = &mut tap {
            stream.continuation = Some(Continuation::new(dialect));
        }
        tap
    }

    /// The recorded events, if recording was asked for, they fit, and the
    /// stream was complete and well formed.
    pub fn take_recording(&mut self) -> Option<Vec<u8>> {
        match self {
            UsageTap::Json { .. } => None,
            UsageTap::Stream(stream) => {
                let complete = stream.shape.complete();
                stream.recording.take().filter(|_| complete)
            }
        }
    }

    /// Bytes still held when the upstream body ended, to forward as is.
    pub fn remainder(&mut self) -> Vec<u8> {
        match self {
            UsageTap::Json { .. } => Vec::new(),
            UsageTap::Stream(stream) => {
                let rest = std::mem::take(&mut stream.splitter).finish();
                // An unterminated last event was never recorded.
                stream.shape.malformed |= !rest.iter().all(u8::is_ascii_whitespace);
                rest
            }
        }
    }

    /// Total tokens the provider reported, if it did.
    pub fn total_tokens(&self) -> Option<u64> {
        match self {
            UsageTap::Json { body } => total_tokens(body),
            UsageTap::Stream(stream) => stream.total,
        }
    }

    /// The text the stream sent, if another target can continue from it.
    pub fn partial_text(&self) -> Option<&str> {
        match self {
            UsageTap::Json { .. } => None,
            UsageTap::Stream(stream) => stream.partial.text(),
        }
    }

    /// A continuation's end event, held back by [`Self::continuation`].
    pub fn take_held_end(&mut self) -> Option<Vec<u8>> {
        match self {
            UsageTap::Json { .. } => None,
            UsageTap::Stream(stream) => stream.held_end.take(),
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
            UsageTap::Stream(stream) => Cow::Owned(stream.pass(chunk)),
        }
    }

    fn is_finished(&self) -> bool {
        self.cut_off().is_some()
    }
}

impl StreamTap {
    fn pass(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut forward = Vec::with_capacity(chunk.len());
        let events = self.splitter.push(chunk);
        if self.splitter.overflowed() {
            // No longer whole events: passed on, never recorded or continued.
            self.shape.malformed = true;
            self.recording = None;
            self.partial.give_up();
            for bytes in events {
                forward.extend_from_slice(&bytes);
            }
            return forward;
        }
        for event in events {
            if self.meter.as_ref().is_some_and(Meter::is_exhausted) {
                break;
            }
            let data = sse::data(&event);
            let parsed = parse_chunk(data.as_deref());
            if let (Some(meter), Some(value)) = (&mut self.meter, &parsed)
                && meter.overspends(self.dialect, value)
            {
                // Neither sent nor stored: the stream ends here.
                self.recording = None;
                self.partial.give_up();
                break;
            }
            self.shape.see(&event, data.as_deref(), parsed.as_ref());
            if let Some(value) = &parsed {
                self.partial.see(self.dialect, value);
            }
            let (record_it, forward_it) = self.count(parsed.as_ref());
            let splice = self.continuation.as_mut().map_or(Splice::Forward, |c| {
                c.sort(data.as_deref(), parsed.as_ref())
            });
            match splice {
                Splice::Forward => {
                    if record_it {
                        record(&mut self.recording, &event);
                    }
                    if forward_it {
                        forward.extend_from_slice(&event);
                    }
                }
                Splice::Drop => {}
                Splice::HoldEnd => self.held_end = Some(event),
            }
        }
        forward
    }

    /// Reads an event's usage; says whether to record and to forward it.
    /// A chat stream's usage-only chunk is never recorded and reaches only
    /// a client that asked for it; a Messages API stream passes whole.
    fn count(&mut self, parsed: Option<&Value>) -> (bool, bool) {
        match self.dialect {
            Dialect::Anthropic => {
                if let Some(tokens) =
                    parsed.and_then(|event| named_event_usage(event, &mut self.input_tokens))
                {
                    self.total = Some(tokens);
                }
                (true, true)
            }
            Dialect::OpenAi => {
                let usage = parsed.and_then(usage_chunk);
                if let Some((tokens, _)) = usage {
                    self.total = Some(tokens);
                }
                let usage_only = usage.is_some_and(|(_, has_choices)| !has_choices);
                (!usage_only, !usage_only || self.forward_usage_chunk)
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_continuation_drops_its_opening_holds_its_end_and_keeps_the_text() {
        let mut first = UsageTap::stream(Dialect::Anthropic, false, true);
        run(&mut first, &[START, DELTA]);
        assert_eq!(first.partial_text(), Some("hi"));
        let mut next = UsageTap::continuation(Dialect::Anthropic, false);
        let out = run(&mut next, &[START, PING, DELTA, MESSAGE_DELTA, STOP]);
        assert_eq!(out, [DELTA, MESSAGE_DELTA].concat());
        assert_eq!(next.take_held_end(), Some(STOP.to_vec()));
        assert_eq!(
            next.total_tokens(),
            Some(42),
            "the continuation's own usage"
        );
        assert_eq!(
            next.take_recording(),
            None,
            "a spliced stream is never stored"
        );
        let mut chat = UsageTap::continuation(Dialect::OpenAi, false);
        let out = run(&mut chat, &[CONTENT, USAGE, DONE]);
        assert_eq!(out, CONTENT);
        assert_eq!(chat.take_held_end(), Some(DONE.to_vec()));
    }

    #[test]
    fn a_metered_stream_stops_where_the_budget_runs_out() {
        let mut tap = UsageTap::stream(Dialect::OpenAi, false, true).metered(Meter::new(
            2,
            1,
            "tokens-per-minute".into(),
        ));
        // Four characters to a token: two "hi"s fit the one token left
        // after the prompt's, a third would overspend it.
        let out = run(&mut tap, &[CONTENT, CONTENT, CONTENT, DONE]);
        assert_eq!(out, [CONTENT, CONTENT].concat());
        assert!(tap.is_finished());
        assert_eq!(tap.cut_off().map(Meter::used), Some(2));
        assert_eq!(tap.take_recording(), None, "a cut-off stream is not stored");
    }
}
