//! The WWS benchmark, run by `cargo xtask bench`: a loopback mock upstream,
//! wws-host (release) serving the composed component, and `oha` driving
//! each scenario at concurrency 1 and at a fixed rate, next to the same load
//! sent straight to the mock. Overheads are gateway minus baseline within
//! the same run; results print as a table and land in
//! `target/bench/results.json`.
//!
//! `wws-bench soak [options]` runs the soak instead (see [`soak`]);
//! `--store NAME` (repeatable) keeps only the store profiles named
//! (`sqlite`, `sqlite-spin-costs`, `redis`); `--slow-clients N` measures N
//! stalled connections instead (see
//! [`slow_clients`]), `--host-calls` the store operations and
//! configuration reads per request of each scenario on each store (see
//! [`host_calls`]), and `--peers` WWS next to the other gateways given by
//! `--litellm`, `--node` and `--portkey` (see [`peers`]).

mod host;
mod host_calls;
mod load;
mod mock;
mod options;
mod peers;
mod probe;
mod report;
mod slow_clients;
mod soak;

use anyhow::{Context, Result};

use load::Load;
use options::Options;
use report::{Report, Row};

#[tokio::main]
async fn main() -> Result<()> {
    if std::env::args().nth(1).as_deref() == Some("soak") {
        return soak::run(std::env::args().skip(2)).await;
    }
    let options = options::parse()?;
    let upstream = format!("http://{}", mock::start(options.shape).await?);
    if let Some(paths) = &options.peers {
        return peers::run(&options, paths, &upstream).await;
    }
    if let Some(connections) = options.slow_clients {
        let host = host::Host::start(
            &options.host,
            &options.root,
            None,
            false,
            &mock::variables(&upstream),
            None,
            None,
        )?;
        return slow_clients::run(&host, connections, CHAT).await;
    }
    // Each store as this host runs it; SQLite also as Spin runs it.
    let mut stores = vec![("sqlite", None, false), (SPIN_COSTS, None, true)];
    if let Some(url) = &options.redis {
        stores.push(("redis", Some(url.as_str()), false));
    }
    if !options.only_stores.is_empty() {
        stores.retain(|(name, _, _)| options.only_stores.iter().any(|only| only == name));
    }
    if options.host_calls {
        return count_host_calls(&options, &upstream, &stores).await;
    }
    let mut report = Report::default();
    // The edge build, its counters in the same Redis: what the round trips
    // cost (on loopback here; a managed Redis is tens of ms away). Its
    // platform's quotas are off: the loads here are past Akamai's 1,000 KV
    // reads a second, which would measure refusals instead.
    let wanted = |name: &str| {
        options.only_stores.is_empty() || options.only_stores.iter().any(|only| only == name)
    };
    let edge = options.redis.as_deref().filter(|_| wanted(EDGE));
    for (store, redis, spin_costs) in stores {
        eprintln!("--- {store}");
        let host = host::Host::start(
            &options.host,
            &options.root,
            redis,
            spin_costs,
            &mock::variables(&upstream),
            None,
            None,
        )?;
        run_store(&options, &upstream, &host, store, &mut report).await?;
        report
            .peak_rss_mib
            .insert(store.to_string(), host.peak_rss_mib().unwrap_or(f64::NAN));
    }
    if let Some(redis) = edge {
        eprintln!("--- {EDGE}");
        let host = host::Host::start_edge(
            &options.host,
            &options.root,
            "spin",
            redis,
            &mock::variables(&upstream),
            None,
            None,
        )?;
        run_store(&options, &upstream, &host, EDGE, &mut report).await?;
        report
            .peak_rss_mib
            .insert(EDGE.to_string(), host.peak_rss_mib().unwrap_or(f64::NAN));
    }
    report.wasm_bytes = std::fs::metadata(options.root.join("target/wws.wasm"))?.len();
    report.print();
    let out = options.root.join("target/bench/results.json");
    std::fs::create_dir_all(out.parent().context("results folder")?)?;
    std::fs::write(&out, serde_json::to_vec_pretty(&report.to_json())?)?;
    eprintln!("results: {}", out.display());
    Ok(())
}

async fn count_host_calls(
    options: &Options,
    upstream: &str,
    stores: &[(&str, Option<&str>, bool)],
) -> Result<()> {
    let scenarios = [
        host_calls::Scenario {
            name: "AI request (cached session)",
            body: CHAT,
            signed_in: true,
        },
        host_calls::Scenario {
            name: "cache hit",
            body: CACHEABLE,
            signed_in: true,
        },
        host_calls::Scenario {
            name: "streamed AI request",
            body: STREAM,
            signed_in: true,
        },
        host_calls::Scenario {
            name: "rejected (401)",
            body: CHAT,
            signed_in: false,
        },
    ];
    for (store, redis, _) in stores.iter().filter(|(_, _, spin_costs)| !spin_costs) {
        let logs = tempfile::tempdir()?;
        let log = logs.path().join("host-stderr.log");
        let host = host::Host::start(
            &options.host,
            &options.root,
            *redis,
            false,
            &mock::variables(upstream),
            Some(&log),
            Some(host_calls::RUST_LOG),
        )?;
        host_calls::run(&host, &log, store, &scenarios).await?;
    }
    // The edge build: counters in Redis, so a request's KV writes are
    // what the platform's 50 writes/s quota sees.
    if let Some(redis) = &options.redis {
        let logs = tempfile::tempdir()?;
        let log = logs.path().join("host-stderr.log");
        let host = host::Host::start_edge(
            &options.host,
            &options.root,
            "akamai",
            redis,
            &mock::variables(upstream),
            Some(&log),
            Some(host_calls::RUST_LOG),
        )?;
        host_calls::run(&host, &log, "edge build (KV + Redis)", &scenarios).await?;
    }
    Ok(())
}

/// The edge build on `--platform akamai`, counters in the bench's Redis.
const EDGE: &str = "edge";

/// The store profile of SQLite run as Spin runs it (`wws-host --spin-costs`).
const SPIN_COSTS: &str = "sqlite-spin-costs";

const CHAT: &str = r#"{"messages":[{"role":"user","content":"benchmark"}],"temperature":0.7}"#;
const CACHEABLE: &str = r#"{"messages":[{"role":"user","content":"benchmark"}],"temperature":0}"#;
const STREAM: &str = r#"{"messages":[{"role":"user","content":"benchmark"}],"stream":true}"#;

async fn run_store(
    options: &Options,
    upstream: &str,
    host: &host::Host,
    store: &str,
    report: &mut Report,
) -> Result<()> {
    let user = format!("Bearer {}", mock::USER_TOKEN);
    let provider = format!("Bearer {}", mock::PROVIDER_KEY);
    let json_type = ("content-type", "application/json");
    let as_user = [("authorization", user.as_str()), json_type];
    let as_provider = [("authorization", provider.as_str()), json_type];
    let direct = format!("{upstream}/openai/v1/chat/completions");
    let gateway = format!("{}/v1/chat/completions", host.url);

    // Warm up: the session cache and the cache entry exist before measuring.
    for body in [CHAT, CACHEABLE] {
        let request = probe::Request {
            url: &gateway,
            headers: &as_user,
            body,
        };
        probe::server_timing(&request, 20).await?;
    }

    let ai = Scenario {
        name: "AI request",
        url: &gateway,
        headers: &as_user,
        body: CHAT,
        status: 200,
    };
    let cache_hit = Scenario {
        name: "cache hit",
        url: &gateway,
        headers: &as_user,
        body: CACHEABLE,
        status: 200,
    };
    let rejected = Scenario {
        name: "rejected (401)",
        url: &gateway,
        headers: &[json_type],
        body: CHAT,
        status: 401,
    };
    let baseline = Scenario {
        name: "baseline (direct to mock)",
        url: &direct,
        headers: &as_provider,
        body: CHAT,
        status: 200,
    };
    // The AI path at the rates the peer comparison uses (issues 18 and 20).
    let groups: [(Option<u32>, Vec<&Scenario>); 5] = [
        (None, vec![&ai, &cache_hit, &rejected]),
        (Some(200), vec![&ai]),
        (Some(500), vec![&ai, &rejected]),
        (Some(1000), vec![&ai]),
        (Some(2000), vec![&cache_hit]),
    ];
    for (rate, scenarios) in groups {
        let base = oha(options, &baseline, rate)?;
        report
            .rows
            .push(Row::new(baseline.name, store, rate, base.clone(), None));
        for scenario in scenarios {
            eprintln!("{} at {}", scenario.name, load::label(rate));
            let measured = oha(options, scenario, rate)?;
            report
                .rows
                .push(Row::new(scenario.name, store, rate, measured, Some(&base)));
        }
    }

    for (name, body, headers) in [
        ("AI request", CHAT, &as_user[..]),
        ("cache hit", CACHEABLE, &as_user[..]),
        ("rejected (401)", CHAT, &[json_type][..]),
    ] {
        let request = probe::Request {
            url: &gateway,
            headers,
            body,
        };
        report.server_timing.insert(
            format!("{store}: {name}"),
            probe::server_timing(&request, 300).await?,
        );
    }
    let direct_stream = probe::stream_timing(
        &probe::Request {
            url: &direct,
            headers: &as_provider,
            body: STREAM,
        },
        30,
    )
    .await?;
    let gateway_stream = probe::stream_timing(
        &probe::Request {
            url: &gateway,
            headers: &as_user,
            body: STREAM,
        },
        30,
    )
    .await?;
    report
        .streams
        .insert(store.to_string(), (direct_stream, gateway_stream));
    Ok(())
}

struct Scenario<'a> {
    name: &'static str,
    url: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: &'a str,
    status: u16,
}

fn oha(options: &Options, scenario: &Scenario<'_>, rate: Option<u32>) -> Result<load::Measured> {
    let load = Load {
        url: scenario.url,
        method: "POST",
        headers: scenario.headers,
        body: Some(scenario.body),
        rate,
        duration: options.duration,
    };
    load::run(&options.oha, &load, scenario.status)
}
