//! `Cache-Control` from clients and from the origin: any header value parses
//! (unknown directives ignored, malformed numbers absent), directive names
//! are case-insensitive, and a refusal always wins over a lifetime.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wws_gateway::fuzzing::cache_control::CacheControl;

fuzz_target!(|data: &[u8]| {
    // Header values reach the parser lossily decoded, several joined by ','.
    let value = String::from_utf8_lossy(data);
    let parsed = CacheControl::parse(&value);
    assert_eq!(CacheControl::parse(&value.to_ascii_uppercase()), parsed);
    assert_eq!(CacheControl::parse(&format!(" {value} ")), parsed);
    assert_eq!(CacheControl::parse(&format!("{value},")), parsed);
    if let Some(lifetime) = parsed.shared_lifetime() {
        assert!(lifetime > 0);
        assert!(!parsed.no_store && !parsed.no_cache && !parsed.private);
    }
});
