//! Load from `oha`, a real load generator: fixed request rates (open loop)
//! or one connection back to back (concurrency 1).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Load<'a> {
    pub url: &'a str,
    pub method: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<&'a str>,
    /// Requests per second, or `None` for concurrency 1 as fast as it goes.
    pub rate: Option<u32>,
    pub duration: Duration,
}

/// How a load reads in tables and logs: `c=1` or `N rps`.
pub fn label(rate: Option<u32>) -> String {
    rate.map_or("c=1".into(), |rate| format!("{rate} rps"))
}

/// Latencies in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub rps: f64,
    pub requests: u64,
    /// Answers other than the expected status, plus transport errors.
    pub errors: u64,
}

pub fn run(oha: &Path, load: &Load<'_>, expected_status: u16) -> Result<Measured> {
    let mut command = Command::new(oha);
    command
        // Requests still in flight when the duration ends are waited for,
        // not counted as failures.
        .args(["--no-tui", "--output-format", "json", "-w", "-z"])
        .arg(format!("{}ms", load.duration.as_millis()))
        .args(["-m", load.method]);
    match load.rate {
        // Enough connections that a slow answer never holds back the rate,
        // and latencies counted from when each request was due, so a
        // target that falls behind shows its queueing (no coordinated
        // omission).
        Some(rate) => command.args([
            "-q",
            &rate.to_string(),
            "-c",
            &(rate / 50).clamp(4, 64).to_string(),
            "--latency-correction",
        ]),
        None => command.args(["-c", "1"]),
    };
    for (name, value) in load.headers {
        command.args(["-H", &format!("{name}: {value}")]);
    }
    if let Some(body) = load.body {
        command.args(["-d", body]);
    }
    let output = command.arg(load.url).output().context("running oha")?;
    if !output.status.success() {
        bail!("oha failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let report: Value = serde_json::from_slice(&output.stdout).context("reading oha's JSON")?;
    let millis = |name: &str| {
        report["latencyPercentiles"][name]
            .as_f64()
            .unwrap_or(f64::NAN)
            * 1000.0
    };
    let statuses = report["statusCodeDistribution"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let count = |value: &Value| value.as_u64().unwrap_or(0);
    let requests: u64 = statuses.values().map(count).sum();
    let expected = statuses.get(&expected_status.to_string()).map_or(0, count);
    let transport_errors: u64 = report["errorDistribution"]
        .as_object()
        .map(|errors| errors.values().map(count).sum())
        .unwrap_or(0);
    Ok(Measured {
        p50: millis("p50"),
        p90: millis("p90"),
        p99: millis("p99"),
        rps: report["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        requests,
        errors: requests - expected + transport_errors,
    })
}
