//! `wws-bench soak`, run by `cargo xtask soak`: minutes of mixed traffic at a
//! modest fixed rate against one release wws-host, with every answer checked
//! and the host's memory and the store's keys sampled as it runs. Results
//! print as tables and land in `target/soak/results.json`; the exit status
//! is non-zero on any unexpected answer, on memory or key counts that keep
//! growing in the second half, or on a limiter that admitted too much.

mod client;
mod host_log;
mod keys;
mod report;
mod sample;
mod traffic;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;
use tokio::time::{Instant, MissedTickBehavior};

use crate::host::Host;
use crate::mock;
use host_log::HostLog;
use traffic::Traffic;

struct Options {
    root: PathBuf,
    host: PathBuf,
    redis: Option<String>,
    /// The edge build on `--platform akamai`, its counters in `redis`.
    edge: bool,
    duration: Duration,
    sample_every: Duration,
    rate: u32,
    workers: u32,
}

fn options(mut args: impl Iterator<Item = String>) -> Result<Options> {
    let mut options = Options {
        root: PathBuf::from("."),
        host: PathBuf::from("target/release/wws-host"),
        redis: None,
        edge: false,
        duration: Duration::from_secs(600),
        sample_every: Duration::from_secs(30),
        // Modest: the load generator, the mock and the host share two cores.
        rate: 300,
        workers: 16,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--root" => options.root = value()?.into(),
            "--host" => options.host = value()?.into(),
            "--redis" => options.redis = Some(value()?),
            "--edge" => options.edge = true,
            "--minutes" => options.duration = Duration::from_secs(60 * value()?.parse::<u64>()?),
            "--sample-secs" => options.sample_every = Duration::from_secs(value()?.parse()?),
            "--rate" => options.rate = value()?.parse()?,
            "--workers" => options.workers = value()?.parse()?,
            other => bail!("unknown soak option {other}"),
        }
    }
    if options.duration.is_zero() || options.sample_every.is_zero() || options.rate == 0 {
        bail!("--minutes, --sample-secs and --rate must be above zero");
    }
    if options.edge && options.redis.is_none() {
        bail!("--edge keeps its counters in Redis: give --redis");
    }
    options.workers = options.workers.max(1);
    Ok(options)
}

pub async fn run(args: impl Iterator<Item = String>) -> Result<()> {
    let options = options(args)?;
    let out = options.root.join("target/soak");
    std::fs::create_dir_all(&out)?;
    let upstream = format!(
        "http://{}",
        mock::start(mock::Shape {
            latency: Duration::from_millis(2),
            chunks: 8,
            chunk_gap: Duration::from_millis(5),
        })
        .await?
    );
    let log = out.join("host-stderr.log");
    let host = match (&options.redis, options.edge) {
        (Some(redis), true) => Host::start_edge(
            &options.host,
            &options.root,
            "akamai",
            redis,
            &variables(&upstream),
            Some(&log),
            None,
        )?,
        (redis, _) => Host::start(
            &options.host,
            &options.root,
            redis.as_deref(),
            false,
            &variables(&upstream),
            Some(&log),
            None,
        )?,
    };
    let store = Arc::new(match &options.redis {
        Some(url) => keys::Store::redis(url)?,
        None => keys::Store::sqlite(host.state_dir()),
    });
    // The edge build's store is the platform's; what grows with traffic
    // there is the counters in Redis, so those are the keys sampled.
    let store_name = match (&options.redis, options.edge) {
        (Some(_), true) => "edge (counters in redis)",
        (Some(_), false) => "redis",
        (None, _) => "sqlite",
    };
    eprintln!(
        "soak: {store_name}, {} min at {} req/s from {} workers, a sample every {} s",
        options.duration.as_secs() / 60,
        options.rate,
        options.workers,
        options.sample_every.as_secs()
    );

    let traffic = Arc::new(Traffic::new(options.duration));
    let started = Instant::from_std(traffic.started);
    let deadline = started + options.duration;
    let period = Duration::from_secs(1) * options.workers / options.rate;
    let workers: Vec<_> = (0..options.workers)
        .map(|index| {
            let traffic = traffic.clone();
            let first = started + period * index / options.workers;
            tokio::spawn(worker(traffic, host.url.clone(), first, period, deadline))
        })
        .collect();

    let mut samples = vec![sample::take(&traffic, &host, &store, None).await];
    let mut next = started + options.sample_every;
    while next < deadline {
        tokio::time::sleep_until(next).await;
        let row = sample::take(&traffic, &host, &store, samples.last()).await;
        report::print_progress(&row);
        samples.push(row);
        next += options.sample_every;
    }
    for worker in workers {
        worker.await?;
    }
    samples.push(sample::take(&traffic, &host, &store, samples.last()).await);

    let mut tally = std::mem::take(&mut *traffic.tally.lock().expect("tally lock"));
    tally.finish();
    drop(host);
    let host_log = HostLog::read(&out.join("host-stderr.log"));
    let soak = report::Soak {
        store: store_name,
        duration: options.duration,
        samples,
        tally,
        host_log,
    };
    let verdicts = soak.verdicts();
    soak.print(&verdicts);
    let mut results = soak.to_json(&verdicts);
    results["commit"] = json!(git(&options.root, &["rev-parse", "HEAD"]));
    results["uncommitted_files"] =
        json!(git(&options.root, &["status", "--porcelain"]).map(|status| status.lines().count()));
    results["rate_per_sec"] = json!(options.rate);
    results["workers"] = json!(options.workers);
    let file = out.join("results.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&results)?)?;
    eprintln!("results: {}", file.display());
    let failed: Vec<&str> = verdicts
        .iter()
        .filter(|verdict| !verdict.passed)
        .map(|verdict| verdict.name)
        .collect();
    if !failed.is_empty() {
        bail!("soak failed: {}", failed.join(", "));
    }
    Ok(())
}

/// Sends the mix at `period` per request until `deadline`. A slow answer
/// delays this worker's next request rather than piling up more.
async fn worker(
    traffic: Arc<Traffic>,
    url: String,
    first: Instant,
    period: Duration,
    deadline: Instant,
) {
    let mut client = client::Client::new(&url);
    let mut ticks = tokio::time::interval_at(first, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if Instant::now() >= deadline {
            return;
        }
        let request = traffic.next_request();
        let sent = std::time::Instant::now();
        let answer = client.send(request.http).await;
        traffic.record(request.class, &request.path, sent.elapsed(), answer);
    }
}

/// Points the app at the mock. Limits are far above the load except on the
/// hammered route, which is tiny so that it refuses most requests.
fn variables(upstream: &str) -> Vec<(String, String)> {
    const HIGH: u64 = 1_000_000_000;
    let limits = json!({
        "default": HIGH, "/v1/chat/completions": HIGH, "/api/ai/chat": HIGH,
        traffic::LIMITED_ROUTE: { "requests": traffic::LIMITED_REQUESTS,
                                  "window_secs": traffic::LIMITED_WINDOW_SECS },
        "tokens": { "per_minute": HIGH * 1000 },
    });
    // The soak also sends origin traffic to the mock.
    let mut variables = mock::variables_with_limits(upstream, &limits);
    variables.push(("origin_url".into(), upstream.to_string()));
    variables
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}
