//! The `api_keys` variable: any text is either refused or gives entries that
//! are each found by their own digest (in any case) and by nothing shorter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wws_auth::fuzzing::api_keys;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(keys) = api_keys::parse(json) else {
        return;
    };
    for key in &keys {
        let digest = key.sha256.to_ascii_lowercase();
        let found = api_keys::find(&keys, &digest).expect("every entry is found by its digest");
        assert_eq!(found.sha256.to_ascii_lowercase(), digest);
        if let Some((_, shorter)) = digest
            .char_indices()
            .last()
            .map(|(at, _)| digest.split_at(at))
        {
            let found = api_keys::find(&keys, shorter);
            assert!(found.is_none_or(|entry| entry.sha256.eq_ignore_ascii_case(shorter)));
        }
    }
    assert!(
        api_keys::find(&keys, "").is_none_or(|entry| entry.sha256.is_empty()),
        "the empty digest matched a non-empty entry"
    );
});
