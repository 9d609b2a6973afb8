//! `wws-bench --host-calls`: the store operations and configuration reads
//! each scenario asks of its host, per request. wws-host logs every
//! request's counts when its guest ends (`wws_host::calls` at debug level);
//! this runs each scenario sequentially and averages those lines. Each store
//! read or write is a Redis round trip, each write a transaction of its own
//! on Spin's SQLite store, each configuration read a blocking variable
//! lookup under Spin and each stdout or stderr write a write to its log
//! files, so these counts are what a request costs on either. The edge
//! build's row adds its Redis commands, each a round trip to the managed
//! Redis.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::host::Host;
use crate::mock;
use crate::probe;

const SAMPLES: usize = 100;
const STREAM_SAMPLES: usize = 20;

/// The host's log filter: its usual lines plus the per-request counts.
pub const RUST_LOG: &str = "wws_host=info,wws_host::calls=debug,warn";

pub struct Scenario<'a> {
    pub name: &'static str,
    pub body: &'a str,
    pub signed_in: bool,
}

/// Runs every scenario on `host`, whose stderr goes to `log`, and prints
/// the host calls per request for `store`.
pub async fn run(host: &Host, log: &Path, store: &str, scenarios: &[Scenario<'_>]) -> Result<()> {
    let user = format!("Bearer {}", mock::USER_TOKEN);
    let signed_in = [
        ("authorization", user.as_str()),
        ("content-type", "application/json"),
    ];
    let anonymous = [("content-type", "application/json")];
    let url = format!("{}/v1/chat/completions", host.url);
    println!(
        "\n| scenario | store | KV opens / request | KV reads / request | KV writes / request | Redis commands / request | config reads / request | stdio writes / request | per million requests | requests/s within Akamai's KV quotas |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
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
        let mean =
            |field: fn(&Tally) -> u64| measured.iter().map(field).sum::<u64>() as f64 / count;
        let opens = mean(|tally| tally.kv_opens);
        let reads = mean(|tally| tally.kv_reads);
        let writes = mean(|tally| tally.kv_writes);
        let redis = mean(|tally| tally.redis_commands);
        let config = mean(|tally| tally.config_reads);
        let stdio = mean(|tally| tally.stdio_writes);
        println!(
            "| {} | {store} | {opens:.2} | {reads:.2} | {writes:.2} | {redis:.2} | {config:.2} | {stdio:.2} | {reads:.2} M KV reads, {writes:.2} M KV writes, {redis:.2} M Redis commands | {} |",
            scenario.name,
            quota_headroom(reads, writes)
        );
    }
    Ok(())
}

/// Akamai Functions allows an app 1,000 KV reads and 50 KV writes a
/// second: the request rate these counts stay within.
fn quota_headroom(reads: f64, writes: f64) -> String {
    const READS_PER_SEC: f64 = 1_000.0;
    const WRITES_PER_SEC: f64 = 50.0;
    let bound = |per_request: f64, quota: f64| {
        if per_request > 0.0 {
            quota / per_request
        } else {
            f64::INFINITY
        }
    };
    let rate = bound(reads, READS_PER_SEC).min(bound(writes, WRITES_PER_SEC));
    if rate.is_finite() {
        format!("{rate:.0}")
    } else {
        "no KV limit".into()
    }
}

/// One request's host calls, as wws-host logged them.
#[derive(Debug, PartialEq, Eq)]
struct Tally {
    kv_opens: u64,
    kv_reads: u64,
    kv_writes: u64,
    redis_commands: u64,
    config_reads: u64,
    stdio_writes: u64,
}

/// Every tally line the host has logged so far.
fn tallies(log: &Path) -> Result<Vec<Tally>> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    Ok(text.lines().filter_map(parse_tally).collect())
}

/// `... POST /v1/chat/completions: 5 KV opens, 3 KV reads, 4 KV writes,
/// [2 Redis commands, ]9 config reads, 1 stdio writes` (Redis only when
/// there were any).
fn parse_tally(line: &str) -> Option<Tally> {
    let (_, counts) = line.rsplit_once(": ")?;
    let (opens, rest) = counts.split_once(" KV opens, ")?;
    let (reads, rest) = rest.split_once(" KV reads, ")?;
    let (writes, rest) = rest.split_once(" KV writes, ")?;
    let (redis, rest) = match rest.split_once(" Redis commands, ") {
        Some((redis, rest)) => (redis.trim().parse().ok()?, rest),
        None => (0, rest),
    };
    let (config, stdio) = rest.split_once(" config reads, ")?;
    let stdio = stdio.strip_suffix(" stdio writes")?;
    Some(Tally {
        kv_opens: opens.trim().parse().ok()?,
        kv_reads: reads.trim().parse().ok()?,
        kv_writes: writes.trim().parse().ok()?,
        redis_commands: redis,
        config_reads: config.trim().parse().ok()?,
        stdio_writes: stdio.trim().parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::{Tally, parse_tally};

    #[test]
    fn the_quota_headroom_is_the_tighter_of_reads_and_writes() {
        assert_eq!(super::quota_headroom(2.0, 0.0), "500");
        assert_eq!(super::quota_headroom(2.0, 1.0), "50");
        assert_eq!(super::quota_headroom(0.0, 0.0), "no KV limit");
    }

    #[test]
    fn tally_lines_are_read_and_others_ignored() {
        assert_eq!(
            parse_tally(
                "2026-12-03T07:00:00Z DEBUG wws_host::calls: POST /v1/chat/completions: 5 KV opens, 3 KV reads, 4 KV writes, 9 config reads, 1 stdio writes"
            ),
            Some(Tally {
                kv_opens: 5,
                kv_reads: 3,
                kv_writes: 4,
                redis_commands: 0,
                config_reads: 9,
                stdio_writes: 1
            })
        );
        assert_eq!(
            parse_tally("DEBUG wws_host::calls: POST /v1/x: 1 KV opens, 2 KV reads, 0 KV writes, 3 Redis commands, 4 config reads, 0 stdio writes")
                .map(|tally| (tally.kv_writes, tally.redis_commands, tally.config_reads)),
            Some((0, 3, 4))
        );
        assert_eq!(parse_tally("Serving http://127.0.0.1:3000"), None);
    }
}
