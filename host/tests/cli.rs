//! The `wws-host` binary as an operator runs it: start-up errors exit non-zero
//! with a clear message, and SIGTERM drains and exits cleanly.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

fn host() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wws-host"))
}

fn repo_manifest() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../spin.toml"))
}

#[test]
fn a_bad_manifest_exits_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("spin.toml");
    std::fs::write(
        &manifest,
        "spin_manifest_version = 2\n[variables]\nkey = {}\n",
    )
    .unwrap();
    let output = host().args(["up", "-f"]).arg(&manifest).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("variable \"key\" must have either `required = true` or a default"),
        "{stderr}"
    );
}

#[test]
fn a_missing_required_variable_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(repo_manifest()).unwrap().replace(
        "supabase_url = { default = \"\",",
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
        stderr.contains("required variable \"supabase_url\" has no value"),
        "{stderr}"
    );
}

/// A running `wws-host up` on an ephemeral port, killed when dropped.
struct Running {
    child: std::process::Child,
    stdout: BufReader<std::process::ChildStdout>,
    url: String,
    state: tempfile::TempDir,
}

impl Running {
    fn start(extra: &[&str]) -> Self {
        let state = tempfile::tempdir().unwrap();
        let mut child = host()
            .args(["up", "--listen", "127.0.0.1:0", "-f"])
            .arg(repo_manifest())
            .arg("--state-dir")
            .arg(state.path())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("Serving ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; is target/wws.wasm built?"))
            .to_string();
        Self {
            child,
            stdout,
            url,
            state,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
        rest.contains("\"GET /api/wws/health\" 200"),
        "access log missing: {rest}"
    );
    assert!(rest.contains("Shut down cleanly"), "{rest}");
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
}

/// A minimal HTTP/1.1 exchange, enough to prove the server answers.
fn request(url: &str, request_line: &str, headers: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let authority = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "{request_line} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
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
    let auth = format!("Authorization: Bearer {key}\r\n");
    let statuses: Vec<String> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..100)
            .map(|n| {
                let url = hosts[n % 2].url.clone();
                let auth = auth.clone();
                scope.spawn(move || request(&url, "GET /api/projects", &auth, ""))
            })
            .collect();
        calls
            .into_iter()
            .map(|call| call.join().unwrap()[9..12].to_string())
            .collect()
    });
    let limited = statuses.iter().filter(|status| *status == "429").count();
    assert_eq!(limited, 70, "{statuses:?}");
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}
