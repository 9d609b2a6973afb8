//! The benchmark's output: tables for people, JSON for tools.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::load::Measured;
use crate::probe::{Percentiles, StreamTiming};

#[derive(Serialize)]
pub struct Row {
    pub scenario: String,
    pub store: String,
    pub load: String,
    #[serde(flatten)]
    pub measured: Measured,
    /// Gateway minus baseline in the same run, milliseconds.
    pub overhead_p50: Option<f64>,
    pub overhead_p99: Option<f64>,
}

impl Row {
    pub fn new(
        scenario: &str,
        store: &str,
        rate: Option<u32>,
        measured: Measured,
        baseline: Option<&Measured>,
    ) -> Self {
        Self {
            scenario: scenario.into(),
            store: store.into(),
            load: crate::load::label(rate),
            overhead_p50: baseline.map(|base| measured.p50 - base.p50),
            overhead_p99: baseline.map(|base| measured.p99 - base.p99),
            measured,
        }
    }
}

#[derive(Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub server_timing: BTreeMap<String, BTreeMap<String, Percentiles>>,
    /// Per store: (direct to mock, through the gateway).
    pub streams: BTreeMap<String, (StreamTiming, StreamTiming)>,
    pub peak_rss_mib: BTreeMap<String, f64>,
    pub wasm_bytes: u64,
}

fn opt(value: Option<f64>) -> String {
    value.map_or("".into(), |value| format!("{value:+.3}"))
}

impl Report {
    pub fn print(&self) {
        println!(
            "\n| scenario | store | load | p50 ms | p90 ms | p99 ms | overhead p50 | overhead p99 | rps | requests | errors |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        for row in &self.rows {
            let m = &row.measured;
            println!(
                "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {} | {} | {:.0} | {} | {} |",
                row.scenario,
                row.store,
                row.load,
                m.p50,
                m.p90,
                m.p99,
                opt(row.overhead_p50),
                opt(row.overhead_p99),
                m.rps,
                m.requests,
                m.errors
            );
        }
        println!("\n| Server-Timing (300 sequential requests) | entry | p50 ms | p99 ms |");
        println!("|---|---|---|---|");
        for (scenario, entries) in &self.server_timing {
            for (entry, timing) in entries {
                println!(
                    "| {scenario} | {entry} | {:.3} | {:.3} |",
                    timing.p50, timing.p99
                );
            }
        }
        println!(
            "\n| streaming (30 streams of 20 chunks) | store | first byte p50 | p99 | chunk gap p50 | p99 |"
        );
        println!("|---|---|---|---|---|---|");
        for (store, (direct, gateway)) in &self.streams {
            for (name, timing) in [("direct to mock", direct), ("through WWS", gateway)] {
                println!(
                    "| {name} | {store} | {:.3} | {:.3} | {:.3} | {:.3} |",
                    timing.first_byte_ms.p50,
                    timing.first_byte_ms.p99,
                    timing.chunk_gap_ms.p50,
                    timing.chunk_gap_ms.p99
                );
            }
            println!(
                "| extra through WWS | {store} | {:+.3} | {:+.3} | {:+.3} | {:+.3} |",
                gateway.first_byte_ms.p50 - direct.first_byte_ms.p50,
                gateway.first_byte_ms.p99 - direct.first_byte_ms.p99,
                gateway.chunk_gap_ms.p50 - direct.chunk_gap_ms.p50,
                gateway.chunk_gap_ms.p99 - direct.chunk_gap_ms.p99,
            );
        }
        println!("\ncomposed wws.wasm: {} bytes", self.wasm_bytes);
        for (store, rss) in &self.peak_rss_mib {
            println!("wws-host peak RSS ({store}): {rss:.1} MiB");
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "wasm_bytes": self.wasm_bytes,
            "host_peak_rss_mib": self.peak_rss_mib,
            "runs": self.rows,
            "server_timing_ms": self.server_timing,
            "streaming_ms": self.streams.iter().map(|(store, (direct, gateway))| {
                (store.clone(), json!({ "direct": direct, "gateway": gateway }))
            }).collect::<BTreeMap<_, _>>(),
        })
    }
}
