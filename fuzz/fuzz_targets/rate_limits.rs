//! The `rate_limits` variable: any text is either refused or gives limits
//! where every path finds exactly one rule, with a window of at least a
//! second, named after the path or one of its parents (else `default`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wws_ratelimit::fuzzing::policy::Policies;

const PATHS: [&str; 7] = [
    "/api/ai/chat",
    "/api/ai/chat/x",
    "/api/ai/generate",
    "/v1/chat/completions",
    "/api/projects",
    "/",
    "",
];
const ROLES: [&str; 5] = ["authenticated", "service", "admin", "anon", ""];

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policies) = Policies::from_json(json) else {
        return;
    };
    // The configured names too: they are the paths most likely to match.
    let value: serde_json::Value = serde_json::from_str(json).expect("accepted JSON parses");
    let named: Vec<&str> = value
        .as_object()
        .into_iter()
        .flat_map(|table| table.keys())
        .map(String::as_str)
        .collect();
    for role in ROLES.iter().chain(&named) {
        let limits = policies.for_role(role);
        for path in PATHS.iter().chain(&named) {
            let rule = limits.for_path(path);
            assert!(rule.window_secs >= 1, "{rule:?}");
            let applies = rule.name == "default"
                || *path == rule.name
                || path
                    .strip_prefix(rule.name.as_str())
                    .is_some_and(|rest| rest.starts_with('/'));
            assert!(applies, "{path:?} got {rule:?}");
        }
    }
});
