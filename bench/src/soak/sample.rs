//! One sample of the soak: traffic so far, latency over the last interval,
//! the host's memory and the store's keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::keys;
use super::traffic::Traffic;
use crate::host::Host;

/// One row of the samples table.
#[derive(Serialize)]
pub struct Sample {
    pub t_secs: f64,
    pub requests: u64,
    /// Over the interval since the previous sample.
    pub rps: f64,
    pub unexpected: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub rss_mib: Option<f64>,
    pub keys: Option<u64>,
    pub key_families: BTreeMap<String, u64>,
    /// The machine's 1-minute load average: the cores are shared.
    pub load1: Option<f64>,
}

pub async fn take(
    traffic: &Traffic,
    host: &Host,
    store: &Arc<keys::Store>,
    previous: Option<&Sample>,
) -> Sample {
    let t_secs = traffic.started.elapsed().as_secs_f64();
    let (requests, unexpected, latency) = {
        let mut tally = traffic.tally.lock().expect("tally lock");
        (tally.requests, tally.unexpected, tally.take_interval())
    };
    let store = store.clone();
    let families = tokio::task::spawn_blocking(move || store.families()).await;
    let key_families = match families {
        Ok(Ok(families)) => Some(families),
        Ok(Err(error)) => {
            eprintln!("soak: counting keys failed: {error:#}");
            None
        }
        Err(error) => {
            eprintln!("soak: counting keys failed: {error}");
            None
        }
    };
    let rps = previous.map_or(0.0, |previous| {
        (requests - previous.requests) as f64 / (t_secs - previous.t_secs)
    });
    Sample {
        t_secs,
        requests,
        rps,
        unexpected,
        p50_ms: latency.map(|(p50, _)| p50),
        p99_ms: latency.map(|(_, p99)| p99),
        rss_mib: host.rss_mib(),
        keys: key_families
            .as_ref()
            .map(|families| families.values().sum()),
        key_families: key_families.unwrap_or_default(),
        load1: std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|load| load.split_whitespace().next()?.parse().ok()),
    }
}
