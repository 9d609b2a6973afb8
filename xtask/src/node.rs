//! The Node client examples the suite runs (`tests/tests/suite/clients.rs`): their
//! pinned npm packages installed from each `package-lock.json` and their
//! TypeScript compiled, so a fresh machine needs only `node` and `npm`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

/// The examples with a `package.json`; `examples/n8n` needs no packages.
const NPM_EXAMPLES: [&str; 2] = ["examples/typescript", "examples/openai-node"];

/// Installs (when the lock file changed) and builds the npm examples;
/// returns the `node` on the PATH.
pub fn prepare(root: &Path) -> Result<PathBuf> {
    let node = on_path("node").context("`node` is not on the PATH (install nodejs and npm)")?;
    for example in NPM_EXAMPLES {
        let dir = root.join(example);
        if needs_install(&dir) {
            run(
                Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(&dir),
                &format!("npm ci in {example}"),
            )?;
        }
        run(
            Command::new("npm")
                .args(["run", "--silent", "build"])
                .current_dir(&dir),
            &format!("npm run build in {example}"),
        )?;
    }
    Ok(node)
}

/// npm writes `node_modules/.package-lock.json` on every install: older
/// than the lock file (or absent) means the lock changed since.
pub fn needs_install(dir: &Path) -> bool {
    let modified = |path: PathBuf| -> Option<SystemTime> { path.metadata().ok()?.modified().ok() };
    match (
        modified(dir.join("package-lock.json")),
        modified(dir.join("node_modules/.package-lock.json")),
    ) {
        (Some(lock), Some(installed)) => lock > installed,
        _ => true,
    }
}

pub fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("{what} (is npm installed?)"))?;
    if !status.success() {
        bail!("{what} failed with {status}");
    }
    Ok(())
}
