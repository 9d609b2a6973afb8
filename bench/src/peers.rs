//! `wws-bench --peers`: WWS next to other AI gateways, in one run, against
//! the same mock. Each target runs alone (started, warmed up, measured,
//! stopped), and every phase of every target has its own direct-to-mock
//! baseline taken just before it, so a target's overhead never includes
//! another's noise. All send the same non-stream chat body with
//! `temperature: 0`; WWS has its cache off for the route, so every request
//! goes upstream as it does through the peers. Where the machine allows,
//! oha and the mock get one CPU and each target the others (see [`cpus`]).

mod cpus;
mod gateways;
mod phase;
mod table;

use anyhow::{Result, bail};

use crate::load::{self, Load, Measured};
use crate::options::{Options, PeerPaths};
use crate::{mock, probe};
use phase::{Measurements, Phase};

/// The phases of the comparison: concurrency 1, then fixed rates.
const RATES: [Option<u32>; 4] = [None, Some(200), Some(500), Some(1000)];

/// One request body for every target: a model all of them route.
const BODY: &str = r#"{"model":"hf:deepseek-ai/DeepSeek-V3","messages":[{"role":"user","content":"benchmark"}],"temperature":0}"#;

/// Measures every target whose paths are known, one after another, and
/// prints the side-by-side table and the ratios to WWS.
pub async fn run(options: &Options, paths: &PeerPaths, upstream: &str) -> Result<()> {
    let split = cpus::split();
    match &split {
        Some(split) => {
            split.pin_load()?;
            println!("CPUs: {}", split.describe());
        }
        None => println!("CPUs: shared (fewer than two CPUs, or no taskset)"),
    }
    let mut all = Vec::new();
    for target in gateways::targets(paths) {
        eprintln!("--- {}", target.name);
        let running = target.start(upstream, options)?;
        if let Some(split) = &split {
            split.pin_target(running.pid())?;
        }
        let headers: Vec<(&str, &str)> = running
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        warm_up(&running.url, &headers).await?;
        let mut phases = Vec::new();
        for rate in RATES {
            eprintln!("{} at {}", target.name, load::label(rate));
            let baseline = baseline(options, upstream, rate)?;
            let measured = oha(options, &running.url, &headers, rate)?;
            phases.push(Phase {
                rate,
                baseline,
                measured,
            });
        }
        all.push(Measurements {
            target: target.name,
            phases,
        });
    }
    table::print(&all, options.duration);
    let out = options.root.join("target/bench/peers.json");
    std::fs::create_dir_all(options.root.join("target/bench"))?;
    std::fs::write(
        &out,
        serde_json::to_vec_pretty(&table::to_json(&all, options.duration))?,
    )?;
    eprintln!("results: {}", out.display());
    Ok(())
}

/// Fifty sequential requests before measuring: connections, caches and any
/// lazy start-up work of the target are done, and it answers 200.
async fn warm_up(url: &str, headers: &[(&str, &str)]) -> Result<()> {
    let request = probe::Request {
        url,
        headers,
        body: BODY,
    };
    let (_, unexpected) =
        probe::latency_from(&request, 50, std::net::Ipv4Addr::LOCALHOST, 200).await?;
    if unexpected > 0 {
        bail!("{url} answered {unexpected} of 50 warm-up requests with another status than 200");
    }
    Ok(())
}

fn baseline(options: &Options, upstream: &str, rate: Option<u32>) -> Result<Measured> {
    let provider = format!("Bearer {}", mock::PROVIDER_KEY);
    let headers = [
        ("authorization", provider.as_str()),
        ("content-type", "application/json"),
    ];
    let direct = format!("{upstream}/openai/v1/chat/completions");
    oha(options, &direct, &headers, rate)
}

fn oha(
    options: &Options,
    url: &str,
    headers: &[(&str, &str)],
    rate: Option<u32>,
) -> Result<Measured> {
    let load = Load {
        url,
        method: "POST",
        headers,
        body: Some(BODY),
        rate,
        duration: options.duration,
    };
    load::run(&options.oha, &load, 200)
}
