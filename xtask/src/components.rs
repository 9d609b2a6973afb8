//! Building the components for `wasm32-wasip2` and composing them into one
//! component per platform, refusing imports that platform does not provide.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::platform::Platform;
use crate::{compose, imports};

/// The gateway is the socket; the four core functions are plugged into it,
/// then the platform's counters plug into what they all import.
const GATEWAY: &str = "wws_gateway";
const LIBRARIES: [&str; 4] = ["wws_auth", "wws_ratelimit", "wws_router", "wws_cache"];
const PACKAGES: [&str; 7] = [
    "wws-gateway",
    "wws-auth",
    "wws-ratelimit",
    "wws-router",
    "wws-cache",
    "wws-counters-kv",
    "wws-counters-redis",
];

/// Builds every component once, then composes one `.wasm` per platform;
/// returns their paths in the order asked.
pub fn build(root: &Path, platforms: &[Platform]) -> Result<Vec<PathBuf>> {
    let mut args = vec!["build", "--target", "wasm32-wasip2", "--profile", "wasm"];
    for package in PACKAGES {
        args.extend(["-p", package]);
    }
    cargo(root, &args)?;
    let dir = root.join("target/wasm32-wasip2/wasm");
    let wasm = |name: &str| dir.join(format!("{name}.wasm"));
    let plugs: Vec<PathBuf> = LIBRARIES.iter().map(|name| wasm(name)).collect();
    let core = compose::compose(&wasm(GATEWAY), &plugs)?;
    platforms
        .iter()
        .map(|platform| {
            let composed = compose::compose_bytes(&core, &wasm(platform.counters_plug()))?;
            write_checked(root, *platform, &composed)
        })
        .collect()
}

fn write_checked(root: &Path, platform: Platform, composed: &[u8]) -> Result<PathBuf> {
    let mut imports = Vec::new();
    for host in platform.hosts() {
        imports = imports::check(composed, *host)?;
        let violations: Vec<&str> = imports
            .iter()
            .filter(|(_, allowed)| !allowed)
            .map(|(name, _)| name.as_str())
            .collect();
        if !violations.is_empty() {
            bail!(
                "the {} build imports interfaces {} does not provide:\n  {}",
                platform.name(),
                host.name(),
                violations.join("\n  ")
            );
        }
    }
    let output = root.join("target").join(platform.output());
    std::fs::write(&output, composed).with_context(|| format!("writing {}", output.display()))?;
    println!(
        "composed {} for {} ({} bytes), imports:",
        output.display(),
        platform.name(),
        composed.len()
    );
    for (name, _) in &imports {
        println!("  {name}");
    }
    Ok(output)
}

pub fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}
