//! `--platform`: the standard build, whose counters need key-value atomics,
//! is refused by name where the platform has none, before anything serves.

use crate::support::{Running, host, repo_manifest, request};

#[test]
fn the_standard_build_is_refused_where_there_are_no_key_value_atomics() {
    for (platform, title) in [
        ("akamai", "Akamai Functions"),
        ("fermyon-cloud", "Fermyon Cloud"),
    ] {
        let state = tempfile::tempdir().unwrap();
        let output = host()
            .args(["check", "-f"])
            .arg(repo_manifest())
            .args(["--platform", platform, "--state-dir"])
            .arg(state.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{platform}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "the component imports `wasi:keyvalue/atomics@0.2.0-draft2`, which {title} \
                 does not provide (--platform {platform})"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn an_unknown_platform_lists_the_known_ones() {
    let output = host()
        .args(["check", "--platform", "aws-lambda"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[possible values: spin, akamai, fermyon-cloud]"),
        "{stderr}"
    );
}

/// The edge build as Akamai Functions would run it, in demo mode: a request
/// with a cached session writes nothing to the key-value store, and the
/// access log says so, with its counter calls (Redis round trips).
#[test]
fn the_edge_builds_access_log_counts_its_store_operations() {
    let Ok(redis) = std::env::var("WWS_TEST_REDIS_URL") else {
        panic!("WWS_TEST_REDIS_URL is not set: run the suite with `cargo xtask test`");
    };
    let state = tempfile::tempdir().unwrap();
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../spin-akamai.toml");
    let prefix = format!("redis_key_prefix=access-log-{}:", std::process::id());
    let args: Vec<String> = [
        "up",
        "--listen",
        "127.0.0.1:0",
        "--demo",
        "--platform",
        "akamai",
        "-f",
        manifest,
        "--state-dir",
        &state.path().display().to_string(),
        "--variable",
        &format!("redis_address={redis}"),
        "--variable",
        &prefix,
    ]
    .map(String::from)
    .to_vec();
    let running = Running::spawn(&args, state);
    let body = r#"{"messages":[{"role":"user","content":"ping"}],"temperature":0.7}"#;
    let headers = "Authorization: Bearer demo-token\r\nContent-Type: application/json\r\n";
    for _ in 0..2 {
        let answer = request(&running.url, "POST /v1/chat/completions", headers, body);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let lines = loop {
        let lines: Vec<serde_json::Value> = running
            .access_log()
            .into_iter()
            .filter(|line| line["route"] == "/v1/chat/completions")
            .collect();
        if lines.len() == 2 || std::time::Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(lines.len(), 2, "{lines:?}");
    let cached = &lines[1]["store"];
    assert_eq!(lines[1]["auth"], "cache", "{}", lines[1]);
    assert_eq!(cached["kv_writes"], 0, "{cached}");
    assert_eq!(
        cached["kv_reads"], 2,
        "the session and the circuit: {cached}"
    );
    let calls = cached["counter_calls"].as_u64().unwrap_or_default();
    assert!(
        (2..=5).contains(&calls),
        "the limiter, the token hold, its settlement, the provider counter: {cached}"
    );
}
