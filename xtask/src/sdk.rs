//! The official OpenAI and Anthropic SDKs the compatibility tests drive,
//! installed into `target/sdk` so a fresh machine needs only `python3`
//! (with `venv`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Pinned so a new SDK release cannot change a CI run's outcome unseen.
const PYTHON_SDKS: [&str; 2] = ["openai==3.57.0", "anthropic==2.17.0"];

/// The Python interpreter of a virtualenv holding the pinned `openai` and
/// `anthropic` packages, installed on first use (or when a pin changed).
pub fn python(root: &Path) -> Result<PathBuf> {
    let python = virtualenv(&root.join("target/sdk/python"))?;
    let check = format!(
        "import importlib.metadata as m, sys; sys.exit(any(m.version(n) != v for n, v in {:?}))",
        PYTHON_SDKS
            .iter()
            .filter_map(|pin| pin.split_once("=="))
            .collect::<Vec<_>>()
    );
    let installed = Command::new(&python)
        .args(["-c", &check])
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet"])
                .args(PYTHON_SDKS),
            "installing the openai and anthropic Python packages",
        )?;
    }
    Ok(python)
}

/// The interpreter of the virtualenv at `venv`, created if it is not there.
pub fn virtualenv(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    if !python.exists() {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(venv),
            "creating a Python virtualenv (install python3-venv)",
        )?;
    }
    Ok(python)
}

pub fn run(command: &mut Command, what: &str) -> Result<()> {
    let status = command.status().with_context(|| what.to_string())?;
    if !status.success() {
        bail!("{what} failed with {status}");
    }
    Ok(())
}
