//! The `wws-host` binary as an operator runs it: start-up errors exit non-zero
//! with a clear message, and SIGTERM drains and exits cleanly.

use std::process::Command;
use std::time::Duration;

use crate::support::{
    Running, fixed_upstream, host, parallel_statuses, repo_manifest, request, sha256_hex,
};

#[test]
fn a_bad_manifest_exits_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("spin.toml");
    std::fs::write(
        &manifest,
        "spin_manifest_version = 2\n[application]\nname = \"t\"\n[variables]\nkey = {}\n",
    )
    .unwrap();
    let output = host().args(["up", "-f"]).arg(&manifest).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("variable \"key\": must be `required` OR have a `default`"),
        "{stderr}"
    );
}

#[test]
fn a_missing_required_variable_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(repo_manifest()).unwrap().replace(
        "supabase_url = { default = \"http://self\",",
        "supabase_url = { required = true,",
    );
    let path = dir.path().join("spin.toml");
    std::fs::write(&path, manifest).unwrap();
    let output = host()
        .args(["up", "-f"])
        .arg(&path)
        .env_remove("SPIN_VARIABLE_SUPABASE_URL")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no provider resolved required variable \"supabase_url\""),
        "{stderr}"
    );
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let mut running = Running::start(&[]);
    let health = request(&running.url, "GET /api/wws/health", "", "");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for _ in 0..50 {
        if running.child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut running.stdout, &mut rest).unwrap();
    let exit = running.child.wait().unwrap();
    assert!(exit.success(), "exit {exit:?}");
    assert!(
        rest.contains("/api/wws/health"),
        "banner lists the routes: {rest}"
    );
    assert!(rest.contains("Shut down cleanly"), "{rest}");
    let log = running.access_log();
    assert!(
        log.iter()
            .any(|line| line["route"] == "/api/wws/health" && line["status"] == 200),
        "access log missing: {log:?}"
    );
    assert!(
        running.state.path().join("sqlite_key_value.db").exists(),
        "default store is SQLite"
    );
}

#[test]
fn demo_mode_answers_without_any_account() {
    let running = Running::start(&["--demo"]);
    let body = r#"{"messages":[{"role":"user","content":"ping"}]}"#;
    let answer = request(
        &running.url,
        "POST /v1/chat/completions",
        "Authorization: Bearer demo-token\r\nContent-Type: application/json\r\n",
        body,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("you said \\\"ping\\\""), "{answer}");
    let refused = request(
        &running.url,
        "POST /v1/chat/completions",
        "Authorization: Bearer wrong\r\n",
        body,
    );
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    let message = request(
        &running.url,
        "POST /v1/messages",
        "x-api-key: demo-token\r\nContent-Type: application/json\r\n",
        r#"{"max_tokens":64,"messages":[{"role":"user","content":"ping"}]}"#,
    );
    assert!(message.starts_with("HTTP/1.1 200"), "{message}");
    assert!(message.contains(r#""type":"message""#), "{message}");
    assert!(message.contains("you said \\\"ping\\\""), "{message}");
}

/// The benchmark's Spin-cost mode serves the same answers, with the SQLite
/// file in Spin's rollback-journal mode rather than this host's WAL.
#[test]
fn spin_cost_mode_serves_the_same_answers_on_spins_journal() {
    let body = r#"{"messages":[{"role":"user","content":"ping"}]}"#;
    let headers = "Authorization: Bearer demo-token\r\nContent-Type: application/json\r\n";
    for (extra, wal_expected) in [
        (&["--demo"][..], true),
        (&["--demo", "--spin-costs"], false),
    ] {
        let running = Running::start(extra);
        let answer = request(&running.url, "POST /v1/chat/completions", headers, body);
        assert!(answer.starts_with("HTTP/1.1 200"), "{extra:?}: {answer}");
        assert!(
            answer.contains("you said \\\"ping\\\""),
            "{extra:?}: {answer}"
        );
        let wal = running.state.path().join("sqlite_key_value.db-wal");
        assert_eq!(wal.exists(), wal_expected, "{extra:?}: {}", wal.display());
    }
}

/// With the host-call tally logged, the guest's stderr goes through a
/// counting stream: the access line still arrives whole, and the tally
/// counts it as the request's one write.
#[test]
fn the_host_call_tally_counts_the_access_line_and_passes_it_on() {
    let running = Running::start_with_env(&["--demo"], &[("RUST_LOG", "wws_host::calls=debug")]);
    let body = r#"{"messages":[{"role":"user","content":"ping"}]}"#;
    let headers = "Authorization: Bearer demo-token\r\nX-Request-Id: tally-1\r\n";
    let answer = request(&running.url, "POST /v1/chat/completions", headers, body);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let tally = |lines: &[String]| {
        lines
            .iter()
            .find(|line| line.contains("POST /v1/chat/completions: "))
            .cloned()
    };
    let mut found = None;
    for _ in 0..50 {
        found = tally(&running.stderr.lock().unwrap());
        if found.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let line = found.unwrap_or_else(|| panic!("{:?}", running.stderr.lock().unwrap()));
    assert!(line.ends_with(", 1 stdio writes"), "{line}");
    let log = running.access_log();
    assert!(
        log.iter().any(|entry| entry["request_id"] == "tally-1"),
        "{log:?}"
    );
}

/// One JSON line per request: the request id is kept when the caller sent
/// one and generated otherwise, echoed, and the line names route, provider,
/// model and status, but never the bearer token or the prompt.
#[test]
fn every_request_writes_one_json_access_line() {
    let running = Running::start(&["--demo"]);
    let body = r#"{"messages":[{"role":"user","content":"secret prompt"}]}"#;
    let answer = request(
        &running.url,
        "POST /v1/chat/completions",
        "Authorization: Bearer demo-token\r\nX-Request-Id: trace-7\r\n",
        body,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("x-request-id: trace-7"), "{answer}");
    let refused = request(
        &running.url,
        "GET /api/projects?token=abc",
        "X-Request-Id: bad id\r\n",
        "",
    );
    let generated = refused
        .lines()
        .find_map(|line| line.strip_prefix("x-request-id: "))
        .expect("an id is generated")
        .to_string();
    assert_eq!(generated.len(), 32, "{refused}");

    let mut log = Vec::new();
    for _ in 0..50 {
        log = running.access_log();
        if log.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let chat = log
        .iter()
        .find(|line| line["request_id"] == "trace-7")
        .unwrap_or_else(|| panic!("{log:?}"));
    assert_eq!(chat["route"], "/v1/chat/completions");
    assert_eq!(chat["status"], 200);
    assert_eq!(chat["provider"], "primary");
    assert_eq!(chat["auth"], "origin");
    assert!(chat["model"].is_string(), "{chat}");
    assert_eq!(chat["principal"].as_str().map(str::len), Some(12), "{chat}");
    assert!(chat["timings_ms"]["auth"].is_number(), "{chat}");
    let anonymous = log
        .iter()
        .find(|line| line["request_id"] == generated.as_str())
        .unwrap_or_else(|| panic!("{log:?}"));
    assert_eq!(anonymous["status"], 401);
    assert_eq!(anonymous["route"], "/api/projects");
    assert_eq!(anonymous["error"], "authentication_error");
    let everything = running.stderr.lock().unwrap().join("\n");
    for secret in ["demo-token", "secret prompt", "token=abc"] {
        assert!(
            !everything.contains(secret),
            "{secret} logged: {everything}"
        );
    }
}

#[test]
fn check_proves_a_configuration_without_serving() {
    let state = tempfile::tempdir().unwrap();
    let check = |extra: &[&str]| {
        host()
            .args(["check", "-f"])
            .arg(repo_manifest())
            .arg("--state-dir")
            .arg(state.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let keyless_provider = fixed_upstream("HTTP/1.1 401 Unauthorized\r\n");
    let fallback_url = format!("fallback_url={keyless_provider}");
    let fine = check(&[
        "--variable",
        "zai_api_key=sk-checked",
        "--variable",
        &fallback_url,
    ]);
    let stdout = String::from_utf8_lossy(&fine.stdout);
    assert!(fine.status.success(), "{stdout}");
    assert!(stdout.contains("atomics included"), "{stdout}");
    assert!(stdout.contains("provider fallback configured"), "{stdout}");
    assert!(stdout.contains("provider fallback answers at"), "{stdout}");
    assert!(stdout.contains("Configuration OK"), "{stdout}");
    assert!(!stdout.contains("sk-checked"), "{stdout}");

    let moved = fixed_upstream(
        "HTTP/1.1 301 Moved Permanently\r\nLocation: https://elsewhere.example/v4/models?sig=x\r\n",
    );
    let fallback_url = format!("fallback_url={moved}");
    let redirecting = check(&[
        "--variable",
        "zai_api_key=sk-checked",
        "--variable",
        &fallback_url,
    ]);
    let stdout = String::from_utf8_lossy(&redirecting.stdout);
    assert_eq!(redirecting.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "FAIL provider fallback: base URL {moved}/api/paas/v4 redirects (301, to https://elsewhere.example)"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("set fallback_url and fallback_openai_path"),
        "{stdout}"
    );
    assert!(!stdout.contains("sig=x"), "{stdout}");

    let broken = check(&["--variable", r#"rate_limits={"default": 10"#]);
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("variable rate_limits is not valid JSON"),
        "{stdout}"
    );

    // Valid JSON with a misspelt field: only the component can tell.
    let misspelt = check(&[
        "--variable",
        r#"routing={"rutes": {"default": ["glm-4-plus"]}}"#,
        "--variable",
        "session_ttl_secs=ten",
    ]);
    let stdout = String::from_utf8_lossy(&misspelt.stdout);
    assert_eq!(misspelt.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL setting router: routing is invalid and ignored")
            && stdout.contains("unknown field `rutes`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL setting auth: session_ttl_secs is invalid and ignored"),
        "{stdout}"
    );

    let config = state.path().join("unreachable-redis.toml");
    std::fs::write(
        &config,
        "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:1\"\n",
    )
    .unwrap();
    let unreachable = check(&["--runtime-config-file", config.to_str().unwrap()]);
    assert_eq!(unreachable.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(stderr.contains("opening key-value store"), "{stderr}");
}

/// Two `wws-host` processes on one Redis, the way two containers run: 100
/// parallel requests from one principal, spread over both, admit exactly the
/// limit.
#[test]
fn two_processes_sharing_redis_admit_exactly_the_limit() {
    let redis = std::env::var("WWS_TEST_REDIS_URL")
        .expect("WWS_TEST_REDIS_URL is not set: run the suite with `cargo xtask test`");
    let config_dir = tempfile::tempdir().unwrap();
    let runtime_config = config_dir.path().join("runtime-config.toml");
    std::fs::write(
        &runtime_config,
        format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{redis}\"\n"),
    )
    .unwrap();
    let key = format!(
        "process-test-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let api_keys = format!(
        r#"api_keys=[{{"sha256": "{}", "principal": "{key}"}}]"#,
        sha256_hex(&key)
    );
    let args = [
        "--runtime-config-file",
        runtime_config.to_str().unwrap(),
        "--variable",
        r#"rate_limits={"default": 30}"#,
        "--variable",
        &api_keys,
    ];
    let hosts = [Running::start(&args), Running::start(&args)];
    let statuses = parallel_statuses(&hosts, &key, 100);
    let limited = statuses.iter().filter(|status| *status == "429").count();
    assert_eq!(limited, 70, "{statuses:?}");
}

#[test]
fn running_out_of_descriptors_backs_off_and_recovers() {
    let running = Running::start_with_fd_limit(64, &[]);
    let authority = running.url.trim_start_matches("http://").to_string();
    // Connections the kernel completes but the host cannot accept once its
    // descriptors are gone: every `accept` fails until some close.
    let held: Vec<_> = (0..120)
        .filter_map(|_| std::net::TcpStream::connect(&authority).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let failures = running
        .stderr
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains("accept failed"))
        .count();
    assert!(failures > 0, "the limit was reached");
    assert!(
        failures < 30,
        "failed accepts back off instead of spinning: {failures} in 1.5 s"
    );
    drop(held);
    std::thread::sleep(Duration::from_millis(1500));
    let response = request(&running.url, "GET /api/wws/health", "", "");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
