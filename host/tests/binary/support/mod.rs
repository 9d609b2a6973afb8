//! Shared by the binary's tests: start `wws-host` as an operator would and
//! talk to it over plain HTTP/1.1.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

pub fn host() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wws-host"))
}

pub fn repo_manifest() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../spin.toml"))
}

/// A running `wws-host up` on an ephemeral port, killed when dropped.
pub struct Running {
    pub child: std::process::Child,
    pub stdout: BufReader<std::process::ChildStdout>,
    /// Every stderr line so far: the component's JSON access log and warnings.
    pub stderr: Arc<Mutex<Vec<String>>>,
    pub url: String,
    pub state: tempfile::TempDir,
}

/// `up` on an ephemeral port with the repository's manifest, its SQLite
/// folder in `state`, then `extra`.
fn up_args(state: &tempfile::TempDir, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["up", "--listen", "127.0.0.1:0", "-f"]
        .map(String::from)
        .to_vec();
    args.push(repo_manifest().display().to_string());
    args.push("--state-dir".into());
    args.push(state.path().display().to_string());
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}

impl Running {
    /// `wws-host up` on an ephemeral port with the repository's manifest
    /// and a private SQLite folder, plus `extra` arguments.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with_env(extra, &[])
    }

    /// As [`Running::start`], with `env` set for the process.
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Self {
        let state = tempfile::tempdir().unwrap();
        let args = up_args(&state, extra);
        let mut command = host();
        command.envs(env.iter().copied());
        Self::spawn_command(command, &args, state)
    }

    /// As [`Running::start`], in a process that may open at most
    /// `descriptors` files and sockets.
    pub fn start_with_fd_limit(descriptors: u32, extra: &[&str]) -> Self {
        let state = tempfile::tempdir().unwrap();
        let script = format!("ulimit -n {descriptors} && exec \"$0\" \"$@\"");
        let mut args: Vec<String> = vec!["-c".into(), script];
        args.push(env!("CARGO_BIN_EXE_wws-host").into());
        args.extend(up_args(&state, extra));
        Self::spawn_command(Command::new("sh"), &args, state)
    }

    /// `wws-host` with exactly `args`, which must make it listen on port 0.
    pub fn spawn(args: &[String], state: tempfile::TempDir) -> Self {
        Self::spawn_command(host(), args, state)
    }

    fn spawn_command(mut command: Command, args: &[String], state: tempfile::TempDir) -> Self {
        let mut child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                collected.lock().unwrap().push(line);
            }
        });
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
            stderr,
            url,
            state,
        }
    }

    /// The JSON access-log lines written so far.
    pub fn access_log(&self) -> Vec<serde_json::Value> {
        self.stderr
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 exchange, enough to prove the server answers.
pub fn request(url: &str, request_line: &str, headers: &str, body: &str) -> String {
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

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// `count` parallel `GET /api/projects` of one API key, spread over `hosts`
/// in turn: the status code of each.
pub fn parallel_statuses(hosts: &[Running], key: &str, count: usize) -> Vec<String> {
    let auth = format!("Authorization: Bearer {key}\r\n");
    std::thread::scope(|scope| {
        let calls: Vec<_> = (0..count)
            .map(|n| {
                let url = hosts[n % hosts.len()].url.clone();
                let auth = auth.clone();
                scope.spawn(move || request(&url, "GET /api/projects", &auth, ""))
            })
            .collect();
        calls
            .into_iter()
            .map(|call| call.join().unwrap()[9..12].to_string())
            .collect()
    })
}

/// A loopback server that answers every request with `head` (status line
/// and headers, no body) and closes: a stand-in upstream for `check`.
pub fn fixed_upstream(head: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                request.push(byte[0]);
            }
            let _ = write!(
                stream,
                "{head}Content-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    url
}
