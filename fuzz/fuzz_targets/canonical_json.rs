//! Request bodies as cache keys: JSON is canonicalised before it is hashed,
//! so two requests that differ only in key order, whitespace or string
//! escapes must share a key, and canonicalising twice changes nothing. Both
//! places that produce the canonical form are checked: the Cache Manager's
//! key derivation and the gateway's chat request normalisation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wws_cache::fuzzing::key;
use wws_fuzz::{Dice, respell};
use wws_gateway::fuzzing::body::ChatRequest;

const PATHS: [&str; 3] = ["/v1/chat/completions", "/api/ai/chat", "/api/ai/generate"];

fuzz_target!(|body: &[u8]| {
    let original = cache_key(body);
    assert!(original.len() <= 255, "{}", original.len());
    assert_eq!(key::path_of(&original), Some(PATHS[0]));
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let canonical = serde_json::to_vec(&value).expect("a parsed value serialises");
    let twice = serde_json::from_slice::<Value>(&canonical).map(|again| serde_json::to_vec(&again));
    assert_eq!(
        twice.ok().and_then(Result::ok).as_deref(),
        Some(&canonical[..]),
        "canonicalising twice changed it"
    );
    assert_eq!(cache_key(&canonical), original);
    let respelled = respell(&value, &mut Dice::from_input(body));
    assert_eq!(cache_key(respelled.as_bytes()), original, "{respelled}");

    for path in PATHS {
        let (request, same) = match (
            ChatRequest::parse(path, body),
            ChatRequest::parse(path, respelled.as_bytes()),
        ) {
            (Ok(request), Ok(same)) => (request, same),
            (Err(error), Err(again)) => {
                assert_eq!(error, again);
                continue;
            }
            (first, second) => panic!("{path}: {first:?} but respelled {second:?}"),
        };
        let model = request.model().unwrap_or_default();
        assert_eq!(same.cache_body(&model), request.cache_body(&model));
        assert_eq!(same.provider_body(&model), request.provider_body(&model));
        assert_eq!(same.context_tokens(), request.context_tokens());
        assert_eq!(same.task_type(), request.task_type());
        // The provider gets a body the gateway itself would accept again.
        let sent = request.provider_body(&model);
        let resent = ChatRequest::parse(PATHS[0], &sent).expect("provider bodies reparse");
        assert_eq!(resent.provider_body(&model), sent);
        // Streaming and plain requests share cache entries.
        let cached = request.cache_body(&model);
        let cached: Value = serde_json::from_slice(&cached).expect("cache bodies are JSON");
        assert!(cached.get("stream").is_none() && cached.get("stream_options").is_none());
    }
});

fn cache_key(body: &[u8]) -> String {
    key::derive(&key::Parts {
        scope: Some("9f3c2b1a-7d6e-4f5a-8b9c-0d1e2f3a4b5c"),
        method: "POST",
        path: PATHS[0],
        query: "",
        body,
    })
}
