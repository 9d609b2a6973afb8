//! A provider's event stream, cut into reads at arbitrary places: the event
//! splitter, the usage tap that reads token counts on the way to the client
//! (in either dialect),
//! and the replay that turns a recorded stream into one completion and back.
//! Bytes are never lost, reordered or invented, however the reads fall.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wws_fuzz::reads;
use wws_gateway::fuzzing::replay;
use wws_gateway::fuzzing::sse::{EventSplitter, data};
use wws_gateway::fuzzing::usage::{Dialect, Filter, UsageTap, total_tokens};

fuzz_target!(|stream: &[u8]| {
    let whole = split(&[stream]);
    let chunked = split(&reads(stream));
    assert_eq!(whole, chunked, "events depend on where reads end");
    let (events, rest) = whole;
    assert_eq!([events.concat(), rest.clone()].concat(), stream);
    for event in &events {
        assert_eq!(first_terminator_end(event), Some(event.len()), "{event:?}");
        if let Some(data) = data(event) {
            assert!(!data.contains('\r'), "{data:?}");
        }
    }
    assert_eq!(first_terminator_end(&rest), None);

    // The client asked for usage: the tap passes everything on unchanged.
    let (forwarded, total) = tap(UsageTap::stream(Dialect::OpenAi, true, true), &reads(stream));
    assert_eq!(forwarded, stream);
    // It did not: only whole events go missing, the same for any reads.
    let (stripped, stripped_total) = tap(UsageTap::stream(Dialect::OpenAi, false, false), &[stream]);
    assert!(stripped.len() <= stream.len());
    assert_eq!(
        tap(UsageTap::stream(Dialect::OpenAi, false, true), &reads(stream)).0,
        stripped
    );
    assert_eq!(stripped_total, total);
    // A Messages API stream is passed on whole, its count the same for any reads.
    let (named, named_total) = tap(UsageTap::stream(Dialect::Anthropic, false, true), &reads(stream));
    assert_eq!(named, stream);
    assert_eq!(
        tap(UsageTap::stream(Dialect::Anthropic, false, false), &[stream]).1,
        named_total
    );
    let (plain, _) = tap(UsageTap::json(), &reads(stream));
    assert_eq!(plain, stream);
    let _ = total_tokens(stream);

    replayed(stream);
});

fn split(reads: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut splitter = EventSplitter::default();
    let events = reads.iter().flat_map(|read| splitter.push(read)).collect();
    (events, splitter.finish())
}

/// Where the first blank line ends (`\n\n`, `\r\r` or `\r\n\r\n`).
fn first_terminator_end(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find_map(|at| match &bytes[at..] {
        [b'\r', b'\n', b'\r', b'\n', ..] => Some(at + 4),
        [b'\n', b'\n', ..] | [b'\r', b'\r', ..] => Some(at + 2),
        _ => None,
    })
}

fn tap(mut tap: UsageTap, reads: &[&[u8]]) -> (Vec<u8>, Option<u64>) {
    let mut out = Vec::new();
    for read in reads {
        out.extend_from_slice(&tap.pass(read));
    }
    out.extend(tap.remainder());
    let _ = tap.take_recording();
    (out, tap.total_tokens())
}

/// A cached stream served to a plain request, then to a streaming one: the
/// round trip keeps the completion as it was.
fn replayed(stream: &[u8]) {
    if let Some(completion) = replay::stream_to_completion(stream) {
        let parsed: Value = serde_json::from_slice(&completion).expect("a completion is JSON");
        let again = replay::completion_to_stream(&completion).expect("a completion streams");
        let back = replay::stream_to_completion(&again).expect("its stream replays");
        let back: Value = serde_json::from_slice(&back).expect("a completion is JSON");
        assert_eq!(back, parsed);
    }
    if let Some(events) = replay::completion_to_stream(stream) {
        let (events, rest) = split(&[&events]);
        assert!(rest.is_empty());
        for event in events {
            let data = data(&event).expect("every replayed event has data");
            assert!(data == "[DONE]" || serde_json::from_str::<Value>(&data).is_ok());
        }
    }
}
