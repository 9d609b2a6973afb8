//! Which CPUs each side of the comparison runs on: oha and the mock on the
//! first, each target (with every process it started) on all the others.
//! Unpinned, a target shares its cores with the load that measures it, and
//! the scheduler's choices from one second to the next move medians more
//! than the gap between two gateways; pinned, every target gets the same
//! cores to itself, whether it is one Node.js thread, one Python worker or
//! wws-host's thread pool.

use std::process::Command;

use anyhow::{Context, Result, bail};

pub struct Split {
    /// `taskset`'s list for the targets, e.g. `1-3`.
    targets: String,
}

/// The split, if this machine has at least two CPUs and `taskset`.
pub fn split() -> Option<Split> {
    let cpus = std::thread::available_parallelism().ok()?.get();
    let has_taskset = Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    (cpus >= 2 && has_taskset).then(|| Split {
        targets: if cpus == 2 {
            "1".into()
        } else {
            format!("1-{}", cpus - 1)
        },
    })
}

impl Split {
    /// Moves this process, the mock's threads with it, and so every oha it
    /// starts to the first CPU.
    pub fn pin_load(&self) -> Result<()> {
        pin(std::process::id(), "0")
    }

    /// Moves a target that is up, its threads and its child processes to
    /// the other CPUs.
    pub fn pin_target(&self, pid: u32) -> Result<()> {
        for process in with_descendants(pid) {
            pin(process, &self.targets)?;
        }
        Ok(())
    }

    pub fn describe(&self) -> String {
        format!(
            "load and mock on CPU 0, each target on CPUs {}",
            self.targets
        )
    }
}

fn pin(pid: u32, cpus: &str) -> Result<()> {
    let status = Command::new("taskset")
        .args(["--all-tasks", "--cpu-list", "--pid", cpus, &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .context("running taskset")?;
    if !status.success() {
        bail!("taskset could not pin process {pid} to CPUs {cpus}: {status}");
    }
    Ok(())
}

/// `pid` and every process below it, from `/proc/<pid>/task/*/children`.
fn with_descendants(pid: u32) -> Vec<u32> {
    let mut found = vec![pid];
    let mut next = 0;
    while let Some(&parent) = found.get(next) {
        next += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            found.extend(
                children
                    .split_whitespace()
                    .filter_map(|pid| pid.parse::<u32>().ok()),
            );
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_tree_is_found_whole() {
        let mut parent = Command::new("sh")
            .args(["-c", "sleep 5 & sleep 5 & wait"])
            .spawn()
            .expect("sh starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut tree = with_descendants(parent.id());
        while tree.len() < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tree = with_descendants(parent.id());
        }
        let _ = Command::new("pkill")
            .args(["-P", &parent.id().to_string()])
            .status();
        let _ = parent.kill();
        let _ = parent.wait();
        assert_eq!(tree.len(), 3, "sh and its two sleeps: {tree:?}");
        assert_eq!(tree[0], parent.id());
    }
}
