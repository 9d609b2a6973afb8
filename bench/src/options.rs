//! The benchmark's command line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::mock;

pub struct Options {
    pub root: PathBuf,
    pub host: PathBuf,
    pub oha: PathBuf,
    pub redis: Option<String>,
    pub duration: Duration,
    pub shape: mock::Shape,
    pub slow_clients: Option<usize>,
    pub host_calls: bool,
    /// Only the store profiles named (`--store`, repeatable); all if none.
    pub only_stores: Vec<String>,
    /// Compare with the peer gateways instead (`--peers`).
    pub peers: Option<PeerPaths>,
}

pub fn parse() -> Result<Options> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        root: PathBuf::from("."),
        host: PathBuf::from("target/release/wws-host"),
        oha: PathBuf::from("oha"),
        redis: None,
        duration: Duration::from_secs(8),
        shape: mock::Shape {
            latency: Duration::ZERO,
            chunks: 20,
            chunk_gap: Duration::from_millis(10),
        },
        slow_clients: None,
        host_calls: false,
        only_stores: Vec::new(),
        peers: None,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--root" => options.root = value()?.into(),
            "--host" => options.host = value()?.into(),
            "--oha" => options.oha = value()?.into(),
            "--redis" => options.redis = Some(value()?),
            "--seconds" => options.duration = Duration::from_secs(value()?.parse()?),
            "--slow-clients" => options.slow_clients = Some(value()?.parse()?),
            "--host-calls" => options.host_calls = true,
            "--store" => options.only_stores.push(value()?),
            "--peers" => {
                options.peers.get_or_insert_default();
            }
            "--litellm" => options.peers.get_or_insert_default().litellm = Some(program(value()?)?),
            "--node" => options.peers.get_or_insert_default().node = Some(program(value()?)?),
            "--portkey" => options.peers.get_or_insert_default().portkey = Some(program(value()?)?),
            "--upstream-latency-ms" => {
                options.shape.latency = Duration::from_millis(value()?.parse()?)
            }
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    Ok(options)
}

/// A program or script given on the command line: a path made absolute,
/// since each peer runs in a folder of its own; a bare name is looked up on
/// the PATH.
fn program(value: String) -> Result<PathBuf> {
    if value.contains('/') {
        Ok(std::path::absolute(value)?)
    } else {
        Ok(value.into())
    }
}

/// Where `cargo xtask bench --peers` installed the peers; a peer without a
/// path is left out.
#[derive(Default)]
pub struct PeerPaths {
    /// The `litellm` executable of its virtualenv.
    pub litellm: Option<PathBuf>,
    /// `node` and the Portkey gateway's `build/start-server.js`.
    pub node: Option<PathBuf>,
    pub portkey: Option<PathBuf>,
}
