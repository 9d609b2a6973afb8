//! The gateways compared: WWS as wws-host runs it and as Spin would (its
//! costs charged, `--spin-costs`), the Portkey gateway on Node.js and the
//! LiteLLM proxy with one worker, each pointed at the same mock provider
//! with the provider key, and each called the way its users call it.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::host::Host;
use crate::mock;
use crate::options::{Options, PeerPaths};

/// The API key WWS and LiteLLM authenticate the benchmark's client by.
const CLIENT_KEY: &str = "sk-bench-peer-client";

/// How long a peer may take to start listening (LiteLLM imports for ~15 s).
const START_TIMEOUT: Duration = Duration::from_secs(120);

enum Kind {
    Wws { spin_costs: bool },
    Portkey { node: PathBuf, script: PathBuf },
    LiteLlm { executable: PathBuf },
}

pub struct Target {
    pub name: String,
    kind: Kind,
}

/// A target that is up: where to send the chat request, with which
/// headers. Dropping it stops the target.
pub struct Running {
    pub url: String,
    pub headers: Vec<(String, String)>,
    process: Process,
}

impl Running {
    pub fn pid(&self) -> u32 {
        match &self.process {
            Process::Wws(host) => host.pid(),
            Process::Peer(peer) => peer.child.id(),
        }
    }
}

/// Dropping it stops the target.
enum Process {
    Wws(Host),
    Peer(PeerProcess),
}

/// A peer's process and the folder holding its config and log.
struct PeerProcess {
    child: Child,
    _workdir: tempfile::TempDir,
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// WWS on both cost profiles, then each peer that is installed.
pub fn targets(paths: &PeerPaths) -> Vec<Target> {
    let mut targets = vec![
        Target {
            name: "WWS (wws-host, SQLite)".into(),
            kind: Kind::Wws { spin_costs: false },
        },
        Target {
            name: "WWS (wws-host --spin-costs, SQLite)".into(),
            kind: Kind::Wws { spin_costs: true },
        },
    ];
    if let (Some(node), Some(script)) = (&paths.node, &paths.portkey) {
        targets.push(Target {
            name: "Portkey gateway 1.15.2 (node)".into(),
            kind: Kind::Portkey {
                node: node.clone(),
                script: script.clone(),
            },
        });
    }
    if let Some(executable) = &paths.litellm {
        targets.push(Target {
            name: "LiteLLM 1.108.7 (1 worker)".into(),
            kind: Kind::LiteLlm {
                executable: executable.clone(),
            },
        });
    }
    targets
}

impl Target {
    pub fn start(&self, upstream: &str, options: &Options) -> Result<Running> {
        let json_type = ("content-type".to_string(), "application/json".to_string());
        let client = ("authorization".to_string(), format!("Bearer {CLIENT_KEY}"));
        match &self.kind {
            Kind::Wws { spin_costs } => {
                let host = Host::start(
                    &options.host,
                    &options.root,
                    None,
                    *spin_costs,
                    &wws_variables(upstream),
                    None,
                    None,
                )?;
                Ok(Running {
                    url: format!("{}/v1/chat/completions", host.url),
                    headers: vec![client, json_type],
                    process: Process::Wws(host),
                })
            }
            Kind::Portkey { node, script } => {
                let port = free_port()?;
                let mut command = Command::new(node);
                command
                    .arg(script)
                    .arg(format!("--port={port}"))
                    .arg("--headless");
                let process = spawn_peer(command, port)?;
                Ok(Running {
                    url: format!("http://127.0.0.1:{port}/v1/chat/completions"),
                    headers: vec![
                        ("x-portkey-provider".into(), "openai".into()),
                        (
                            "x-portkey-custom-host".into(),
                            format!("{upstream}/openai/v1"),
                        ),
                        (
                            "authorization".into(),
                            format!("Bearer {}", mock::PROVIDER_KEY),
                        ),
                        json_type,
                    ],
                    process,
                })
            }
            Kind::LiteLlm { executable } => {
                let port = free_port()?;
                let workdir = tempfile::tempdir()?;
                let config = workdir.path().join("litellm.yaml");
                std::fs::write(&config, litellm_config(upstream))?;
                let mut command = Command::new(executable);
                command
                    .arg("--config")
                    .arg(&config)
                    .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--num_workers", "1"])
                    // The cost map is otherwise downloaded at start-up.
                    .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
                    .current_dir(workdir.path());
                let process = spawn_peer_in(command, port, workdir)?;
                Ok(Running {
                    url: format!("http://127.0.0.1:{port}/v1/chat/completions"),
                    headers: vec![client, json_type],
                    process,
                })
            }
        }
    }
}

/// The mock behind WWS, its cache off for the chat route, the benchmark's
/// client known by its key's digest, limits out of the way.
fn wws_variables(upstream: &str) -> Vec<(String, String)> {
    let mut variables = mock::variables(upstream);
    let digest = hex::encode(Sha256::digest(CLIENT_KEY.as_bytes()));
    let api_keys = json!([{ "sha256": digest, "principal": "bench", "role": "service" }]);
    let cache_policy = json!({ "/v1/chat/completions": { "enabled": false } });
    variables.push(("api_keys".into(), api_keys.to_string()));
    variables.push(("cache_policy".into(), cache_policy.to_string()));
    variables
}

/// One model on the mock, and a master key so LiteLLM authenticates its
/// client as WWS does.
fn litellm_config(upstream: &str) -> String {
    format!(
        "model_list:\n  - model_name: \"hf:deepseek-ai/DeepSeek-V3\"\n    litellm_params:\n      \
         model: \"openai/hf:deepseek-ai/DeepSeek-V3\"\n      api_base: \"{upstream}/openai/v1\"\n      \
         api_key: \"{key}\"\ngeneral_settings:\n  master_key: \"{CLIENT_KEY}\"\n",
        key = mock::PROVIDER_KEY
    )
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn spawn_peer(command: Command, port: u16) -> Result<Process> {
    spawn_peer_in(command, port, tempfile::tempdir()?)
}

/// Starts a peer with its output in `workdir/peer.log` and waits until it
/// listens on `port`; a peer that exits first fails with its log's tail.
fn spawn_peer_in(mut command: Command, port: u16, workdir: tempfile::TempDir) -> Result<Process> {
    let log_path = workdir.path().join("peer.log");
    let log = std::fs::File::create(&log_path)?;
    let child = command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {command:?}"))?;
    let mut peer = PeerProcess {
        child,
        _workdir: workdir,
    };
    let started = Instant::now();
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        if let Some(status) = peer.child.try_wait()? {
            bail!("{command:?} exited with {status}:\n{}", tail(&log_path));
        }
        if started.elapsed() > START_TIMEOUT {
            bail!(
                "{command:?} did not listen within {START_TIMEOUT:?}:\n{}",
                tail(&log_path)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(Process::Peer(peer))
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
