//! Building the five components for `wasm32-wasip2` and composing them
//! into `target/wws.wasm`, refusing imports no supported host provides.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{compose, imports};

/// The gateway is the socket; the four core functions are plugged into it.
const GATEWAY: &str = "wws_gateway";
const LIBRARIES: [&str; 4] = ["wws_auth", "wws_ratelimit", "wws_router", "wws_cache"];

/// Builds and composes; returns the path of the composed component.
pub fn build(root: &Path) -> Result<PathBuf> {
    let mut args = vec!["build", "--target", "wasm32-wasip2", "--profile", "wasm"];
    for package in [
        "wws-gateway",
        "wws-auth",
        "wws-ratelimit",
        "wws-router",
        "wws-cache",
    ] {
        args.extend(["-p", package]);
    }
    cargo(root, &args)?;
    let dir = root.join("target/wasm32-wasip2/wasm");
    let socket = dir.join(format!("{GATEWAY}.wasm"));
    let plugs: Vec<PathBuf> = LIBRARIES
        .iter()
        .map(|name| dir.join(format!("{name}.wasm")))
        .collect();
    let composed = compose::compose(&socket, &plugs)?;
    let imports = imports::check(&composed)?;
    let violations: Vec<&str> = imports
        .iter()
        .filter(|(_, allowed)| !allowed)
        .map(|(name, _)| name.as_str())
        .collect();
    if !violations.is_empty() {
        bail!(
            "the composed component imports interfaces no supported host provides:\n  {}",
            violations.join("\n  ")
        );
    }
    let output = root.join("target/wws.wasm");
    std::fs::write(&output, &composed).with_context(|| format!("writing {}", output.display()))?;
    println!(
        "composed {} ({} bytes), imports:",
        output.display(),
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
