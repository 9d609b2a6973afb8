//! `wws-bench --kv-ops`: the store operations each scenario asks of its
//! host, per request. wws-host logs every request's count when its guest
//! ends (`wws_host::kv` at debug level); this runs each scenario
//! sequentially and averages those lines. Each read or write is a Redis
//! round trip, and each write a transaction of its own on Spin's SQLite
//! store, so these counts are what a request costs on either.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::host::Host;
use crate::mock;
use crate::probe;

const SAMPLES: usize = 100;
const STREAM_SAMPLES: usize = 20;

/// The host's log filter: its usual lines plus the per-request counts.
pub const RUST_LOG: &str = "wws_host=info,wws_host::kv=debug,warn";

pub struct Scenario<'a> {
    pub name: &'static str,
    pub body: &'a str,
    pub signed_in: bool,
}

/// Runs every scenario on `host`, whose stderr goes to `log`, and prints
/// reads and writes per request for `store`.
pub async fn run(host: &Host, log: &Path, store: &str, scenarios: &[Scenario<'_>]) -> Result<()> {
    let user = format!("Bearer {}", mock::USER_TOKEN);
    let signed_in = [
        ("authorization", user.as_str()),
        ("content-type", "application/json"),
    ];
    let anonymous = [("content-type", "application/json")];
    let url = format!("{}/v1/chat/completions", host.url);
    println!(
        "\n| scenario | store | KV reads / request | KV writes / request | per million requests |"
    );
    println!("|---|---|---|---|---|");
    for scenario in scenarios {
        let request = probe::Request {
            url: &url,
            headers: if scenario.signed_in {
                &signed_in
            } else {
                &anonymous
            },
            body: scenario.body,
        };
        let samples = if scenario.body.contains("\"stream\":true") {
            STREAM_SAMPLES
        } else {
            SAMPLES
        };
        // Warm: the session cached and the cache entry stored first.
        probe::server_timing(&request, 5).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let seen = tallies(log)?.len();
        probe::server_timing(&request, samples).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let measured = &tallies(log)?[seen..];
        let count = measured.len().max(1) as f64;
        let reads = measured.iter().map(|(reads, _)| *reads).sum::<u64>() as f64 / count;
        let writes = measured.iter().map(|(_, writes)| *writes).sum::<u64>() as f64 / count;
        println!(
            "| {} | {store} | {reads:.2} | {writes:.2} | {:.2} M reads, {:.2} M writes |",
            scenario.name, reads, writes
        );
    }
    Ok(())
}

/// Every `(reads, writes)` line the host has logged so far.
fn tallies(log: &Path) -> Result<Vec<(u64, u64)>> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    Ok(text.lines().filter_map(parse_tally).collect())
}

/// `... POST /v1/chat/completions: 3 KV reads, 4 KV writes`.
fn parse_tally(line: &str) -> Option<(u64, u64)> {
    let (_, counts) = line.rsplit_once(": ")?;
    let (reads, writes) = counts.split_once(" KV reads, ")?;
    let writes = writes.strip_suffix(" KV writes")?;
    Some((reads.trim().parse().ok()?, writes.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::parse_tally;

    #[test]
    fn tally_lines_are_read_and_others_ignored() {
        assert_eq!(
            parse_tally(
                "2026-12-03T07:00:00Z DEBUG wws_host::kv: POST /v1/chat/completions: 3 KV reads, 4 KV writes"
            ),
            Some((3, 4))
        );
        assert_eq!(parse_tally("Serving http://127.0.0.1:3000"), None);
    }
}
