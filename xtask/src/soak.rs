//! `cargo xtask soak [--minutes N] [--store sqlite|redis|edge] [--rate R]
//! [--workers W] [--sample-secs S]`: builds, then runs `wws-bench soak`
//! against a release wws-host on the chosen store (starting a private Redis
//! for `redis`, and for `edge`: the edge build on `--platform akamai`, its
//! counters in that Redis). Every other option goes to `wws-bench soak`
//! unchanged.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::redis::RedisServer;

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut redis = false;
    let mut edge = false;
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg != "--store" {
            rest.push(arg.as_str());
            continue;
        }
        (redis, edge) = match args.next().map(String::as_str) {
            Some("sqlite") => (false, false),
            Some("redis") => (true, false),
            Some("edge") => (true, true),
            other => bail!("--store takes sqlite, redis or edge, not {other:?}"),
        };
    }
    let platform = if edge {
        crate::platform::Platform::Akamai
    } else {
        crate::platform::Platform::Spin
    };
    crate::components::build(root, &[platform])?;
    crate::components::cargo(
        root,
        &["build", "--release", "-p", "wws-host", "-p", "wws-bench"],
    )?;
    // Dropped (and so stopped) when this function returns, however it ends.
    let server = redis.then(RedisServer::start).transpose()?;
    let mut command = Command::new(root.join("target/release/wws-bench"));
    command
        .arg("soak")
        .arg("--root")
        .arg(root)
        .arg("--host")
        .arg(root.join("target/release/wws-host"));
    if let Some(server) = &server {
        command.args(["--redis", &server.url]);
    }
    if edge {
        command.arg("--edge");
    }
    let status = command
        .args(rest)
        .status()
        .context("running wws-bench soak")?;
    if !status.success() {
        bail!("the soak failed ({status})");
    }
    Ok(())
}
