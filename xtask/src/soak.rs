//! `cargo xtask soak [--minutes N] [--store sqlite|redis] [--rate R]
//! [--workers W] [--sample-secs S]`: builds, then runs `wws-bench soak`
//! against a release wws-host on the chosen store (starting a private Redis
//! for `redis`). Every other option goes to `wws-bench soak` unchanged.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::redis::RedisServer;

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut redis = false;
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg != "--store" {
            rest.push(arg.as_str());
            continue;
        }
        redis = match args.next().map(String::as_str) {
            Some("sqlite") => false,
            Some("redis") => true,
            other => bail!("--store takes sqlite or redis, not {other:?}"),
        };
    }
    crate::components::build(root, &[crate::platform::Platform::Spin])?;
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
    let status = command
        .args(rest)
        .status()
        .context("running wws-bench soak")?;
    if !status.success() {
        bail!("the soak failed ({status})");
    }
    Ok(())
}
