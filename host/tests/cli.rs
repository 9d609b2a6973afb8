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

#[test]
fn sigterm_shuts_down_cleanly() {
    let state = tempfile::tempdir().unwrap();
    let mut child = host()
        .args(["up", "--listen", "127.0.0.1:0", "-f"])
        .arg(repo_manifest())
        .arg("--state-dir")
        .arg(state.path())
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
    let health = ureq_get(&format!("{url}/api/wws/health"));
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    for _ in 0..50 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit {exit:?}");
    assert!(
        rest.contains("\"GET /api/wws/health\" 200"),
        "access log missing: {rest}"
    );
    assert!(rest.contains("Shut down cleanly"), "{rest}");
    assert!(
        state.path().join("sqlite_key_value.db").exists(),
        "default store is SQLite"
    );
}

/// A minimal HTTP/1.1 GET, enough to prove the server answers.
fn ureq_get(url: &str) -> String {
    use std::io::{Read, Write};
    let authority = url.trim_start_matches("http://").split('/').next().unwrap();
    let path = &url[url.find(authority).unwrap() + authority.len()..];
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}
