//! wws-host as a separate process, the way it is deployed, so its memory can
//! be read from `/proc`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

pub struct Host {
    child: Child,
    pub url: String,
    state: tempfile::TempDir,
}

/// `wws-host up` on an ephemeral port with `manifest`, its state in
/// `state`, and `variables`.
fn up(
    binary: &Path,
    manifest: &Path,
    state: &tempfile::TempDir,
    variables: &[(String, String)],
) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["up", "--listen", "127.0.0.1:0", "-f"])
        .arg(manifest)
        .arg("--state-dir")
        .arg(state.path());
    for (name, value) in variables {
        command.arg("--variable").arg(format!("{name}={value}"));
    }
    command
}

impl Host {
    pub fn start(
        binary: &Path,
        root: &Path,
        redis: Option<&str>,
        spin_costs: bool,
        variables: &[(String, String)],
        stderr_log: Option<&Path>,
        rust_log: Option<&str>,
    ) -> Result<Self> {
        let state = tempfile::tempdir()?;
        let mut command = up(binary, &root.join("spin.toml"), &state, variables);
        if let Some(url) = redis {
            let config = state.path().join("runtime-config.toml");
            std::fs::write(
                &config,
                format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"),
            )?;
            command.arg("--runtime-config-file").arg(config);
        }
        if spin_costs {
            command.arg("--spin-costs");
        }
        Self::spawn(command, state, stderr_log, rust_log, binary)
    }

    /// The edge build (`spin-akamai.toml`, `target/wws-akamai.wasm`) on
    /// wws-host as `platform` (`akamai`: its interfaces and quotas; `spin`:
    /// no quotas), its counters in the Redis at `redis` under a prefix of
    /// its own.
    pub fn start_edge(
        binary: &Path,
        root: &Path,
        platform: &str,
        redis: &str,
        variables: &[(String, String)],
        stderr_log: Option<&Path>,
        rust_log: Option<&str>,
    ) -> Result<Self> {
        let state = tempfile::tempdir()?;
        let mut command = up(binary, &root.join("spin-akamai.toml"), &state, variables);
        command
            .args(["--platform", platform])
            .arg("--variable")
            .arg(format!("redis_address={redis}"))
            .args(["--variable", "redis_key_prefix=wws-bench:"]);
        Self::spawn(command, state, stderr_log, rust_log, binary)
    }

    fn spawn(
        mut command: Command,
        state: tempfile::TempDir,
        stderr_log: Option<&Path>,
        rust_log: Option<&str>,
        binary: &Path,
    ) -> Result<Self> {
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        let stderr = match stderr_log {
            Some(path) => Stdio::from(std::fs::File::create(path)?),
            None => Stdio::null(),
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().context("host stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let Some(url) = line.trim().strip_prefix("Serving ").map(str::to_string) else {
            let _ = child.kill();
            bail!("wws-host did not start: {line:?}");
        };
        // The access log goes to stdout; keep draining it so it never blocks.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while stdout.read_line(&mut sink).is_ok_and(|read| read > 0) {
                sink.clear();
            }
        });
        Ok(Self { child, url, state })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size so far, in MiB (`VmHWM`).
    pub fn peak_rss_mib(&self) -> Option<f64> {
        self.memory_mib("VmHWM:")
    }

    /// Resident set size now, in MiB (`VmRSS`); `None` once the host is gone.
    pub fn rss_mib(&self) -> Option<f64> {
        self.memory_mib("VmRSS:")
    }

    fn memory_mib(&self, field: &str) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|line| line.starts_with(field))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// Where the SQLite store lives (`sqlite_key_value.db`, Spin's layout).
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
