//! The peer gateways `cargo xtask bench --peers` measures next to WWS,
//! installed at pinned versions into `target/peers` on first use: the
//! LiteLLM proxy in a virtualenv (every package pinned by
//! `bench/peers/litellm/constraints.txt`) and the Portkey gateway from
//! `bench/peers/portkey`'s lock file.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::sdk::run;

/// The newest LiteLLM whose proxy extra resolves from the registries here.
/// Never 1.107.0, 1.82.7 or 1.82.8: those releases were compromised.
const LITELLM: &str = "litellm[proxy]==1.108.7";
const LITELLM_VERSION: &str = "1.108.7";

/// The arguments that tell wws-bench where each peer is.
pub fn install(root: &Path) -> Result<Vec<String>> {
    let litellm = litellm(root)?;
    let (node, portkey) = portkey(root)?;
    Ok([
        ("--litellm", litellm),
        ("--node", node),
        ("--portkey", portkey),
    ]
    .into_iter()
    .flat_map(|(flag, path)| [flag.to_string(), path.display().to_string()])
    .collect())
}

/// The `litellm` executable of `target/peers/litellm`.
fn litellm(root: &Path) -> Result<PathBuf> {
    let venv = root.join("target/peers/litellm");
    let python = crate::sdk::virtualenv(&venv)?;
    let installed = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('litellm'))",
        ])
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == LITELLM_VERSION);
    if !installed {
        eprintln!("installing {LITELLM} into target/peers (once; a minute or two)");
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", LITELLM, "-c"])
                .arg(root.join("bench/peers/litellm/constraints.txt")),
            "installing the LiteLLM proxy",
        )?;
    }
    Ok(venv.join("bin/litellm"))
}

/// `node` and the Portkey gateway's server script in `target/peers/portkey`.
fn portkey(root: &Path) -> Result<(PathBuf, PathBuf)> {
    let node = crate::node::on_path("node")
        .context("`node` is not on the PATH (install nodejs and npm)")?;
    let dir = root.join("target/peers/portkey");
    std::fs::create_dir_all(&dir)?;
    for file in ["package.json", "package-lock.json"] {
        let source = root.join("bench/peers/portkey").join(file);
        let copy = dir.join(file);
        if std::fs::read(&source)? != std::fs::read(&copy).unwrap_or_default() {
            std::fs::copy(&source, &copy).with_context(|| format!("copying {file}"))?;
        }
    }
    if crate::node::needs_install(&dir) {
        eprintln!("installing the Portkey gateway into target/peers (once)");
        run(
            // Its only install script runs patch-package, whose `patches/`
            // folder the published package does not ship.
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
                .arg("--loglevel=error")
                .current_dir(&dir),
            "npm ci for the Portkey gateway",
        )?;
    }
    Ok((
        node,
        dir.join("node_modules/@portkey-ai/gateway/build/start-server.js"),
    ))
}
