//! `cargo xtask <command>`: the project's build, run and test entry points.
//!
//! - `build [--platform spin|akamai]...`: builds the components for
//!   `wasm32-wasip2` and composes them into `target/wws.wasm` (self-hosted
//!   Spin and wws-host, the default) or the edge build
//!   `target/wws-akamai.wasm` (Akamai Functions and Fermyon Cloud), refusing
//!   imports a host it is meant for does not provide;
//! - `up [args]`: builds, then serves the app with `wws-host up [args]`;
//! - `test`: builds for every platform, then runs every unit and
//!   integration test;
//! - `bench [--seconds N] [--upstream-latency-ms N]`: the benchmark (see
//!   BENCHMARKS.md), on SQLite and on a Redis it starts itself; with
//!   `--peers`, WWS next to LiteLLM and the Portkey gateway, which it
//!   installs into `target/peers` at pinned versions.
//! - `soak [--minutes N] [--store sqlite|redis]`: minutes of mixed, checked
//!   traffic against a release wws-host, sampling its RSS and KV key count.
//! - `fuzz [--seconds N] [target...]`: the fuzz targets in `fuzz/`, N seconds each.
//! - `modules`: fails on a cycle between the modules of any crate.

mod components;
mod compose;
mod fuzz;
mod imports;
mod modules;
mod node;
mod peers;
mod platform;
mod redis;
mod sdk;
mod soak;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use platform::Platform;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let root = workspace_root();
    match command.as_str() {
        "build" => components::build(&root, &platforms(&rest)?).map(drop),
        "up" => {
            components::build(&root, &[Platform::Spin])?;
            components::cargo(
                &root,
                &[
                    &["run", "--release", "-p", "wws-host", "--", "up"],
                    &strs(&rest)[..],
                ]
                .concat(),
            )
        }
        "test" => {
            // The suite runs the edge build too, under wws-host's emulation.
            components::build(&root, &[Platform::Spin, Platform::Akamai])?;
            // The shared-store tests need a Redis: the caller's, or our own.
            let _redis = match std::env::var("WWS_TEST_REDIS_URL") {
                Ok(_) => None,
                Err(_) => {
                    let server = redis::RedisServer::start()?;
                    // SAFETY: no other thread runs yet; children inherit it.
                    unsafe { std::env::set_var("WWS_TEST_REDIS_URL", &server.url) };
                    Some(server)
                }
            };
            // The SDK compatibility tests drive the official client packages.
            if std::env::var_os("WWS_TEST_PYTHON").is_none() {
                let python = sdk::python(&root)?;
                // SAFETY: as above, before any thread starts.
                unsafe { std::env::set_var("WWS_TEST_PYTHON", python) };
            }
            // The client examples' tests run Node against their npm builds,
            // rebuilt every time so they never test stale sources.
            let node = node::prepare(&root)?;
            if std::env::var_os("WWS_TEST_NODE").is_none() {
                // SAFETY: as above, before any thread starts.
                unsafe { std::env::set_var("WWS_TEST_NODE", node) };
            }
            components::cargo(
                &root,
                &[&["test", "--workspace"], &strs(&rest)[..]].concat(),
            )
        }
        "bench" => {
            components::build(&root, &[Platform::Spin, Platform::Akamai])?;
            components::cargo(
                &root,
                &["build", "--release", "-p", "wws-host", "-p", "wws-bench"],
            )?;
            let oha = tools::oha(&root)?;
            let peers = if rest.iter().any(|arg| arg == "--peers") {
                peers::install(&root)?
            } else {
                Vec::new()
            };
            let redis = redis::RedisServer::start()?;
            let status = Command::new(root.join("target/release/wws-bench"))
                .arg("--root")
                .arg(&root)
                .arg("--host")
                .arg(root.join("target/release/wws-host"))
                .arg("--oha")
                .arg(oha)
                .args(["--redis", &redis.url])
                .args(&rest)
                .args(&peers)
                .status()
                .context("running wws-bench")?;
            if !status.success() {
                bail!("wws-bench failed with {status}");
            }
            Ok(())
        }
        "soak" => soak::run(&root, &rest),
        "fuzz" => fuzz::run(&root, &rest),
        "modules" => modules::run(&root),
        _ => bail!(
            "usage: cargo xtask <build [--platform spin|akamai]... | up [wws-host args] | test [cargo test args] | bench [--peers] [options] | soak [--minutes N] [--store sqlite|redis] | fuzz [--seconds N] [target...] | modules>"
        ),
    }
}

/// `--platform NAME`, any number of times; the self-hosted build when none.
fn platforms(args: &[String]) -> Result<Vec<Platform>> {
    let mut platforms = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--platform", Some(name)) => platforms.push(Platform::parse(name)?),
            _ => bail!("usage: cargo xtask build [--platform spin|akamai]..."),
        }
    }
    if platforms.is_empty() {
        platforms.push(Platform::Spin);
    }
    Ok(platforms)
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
