//! Third-party tools the benchmark drives, installed on first use into
//! `target/tools` at a pinned version unless already on the PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const OHA_VERSION: &str = "1.16.0";

/// The `oha` load generator.
pub fn oha(root: &Path) -> Result<PathBuf> {
    let installed = root.join("target/tools/bin/oha");
    if installed.exists() {
        return Ok(installed);
    }
    if Command::new("oha")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(PathBuf::from("oha"));
    }
    eprintln!("installing oha {OHA_VERSION} into target/tools (once; a few minutes)");
    let status = Command::new("cargo")
        .args(["install", "--locked", "--version", OHA_VERSION, "--root"])
        .arg(root.join("target/tools"))
        .arg("oha")
        .status()
        .context("running cargo install oha")?;
    if !status.success() {
        bail!("cargo install oha failed with {status}");
    }
    Ok(installed)
}
