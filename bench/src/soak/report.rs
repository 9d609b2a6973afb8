//! The soak's verdicts, tables and JSON.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::host_log::HostLog;
use super::sample::Sample;
use super::traffic::{self, Class, Tally};

/// Largest growth of the host's RSS over the second half of the run.
const RSS_GROWTH_LIMIT: f64 = 0.20;
/// Largest growth of the key count in the second half over the first half's
/// peak, plus a little slack so a handful of keys on a small store (limiter
/// windows opening, fill leases in flight) cannot fail it.
const KEY_GROWTH_LIMIT: f64 = 0.10;
const KEY_SLACK: u64 = 20;

pub struct Soak {
    pub store: &'static str,
    pub duration: Duration,
    pub samples: Vec<Sample>,
    pub tally: Tally,
    pub host_log: HostLog,
}

#[derive(Serialize)]
pub struct Verdict {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

#[derive(Serialize)]
struct Spread {
    first: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    last: Option<f64>,
}

fn spread(values: impl Iterator<Item = Option<f64>> + Clone) -> Spread {
    let known = values.clone().flatten();
    Spread {
        first: values.clone().next().flatten(),
        min: known.clone().reduce(f64::min),
        max: known.reduce(f64::max),
        last: values.last().flatten(),
    }
}

fn show(value: Option<f64>, decimals: usize) -> String {
    value.map_or("-".into(), |value| format!("{value:.decimals$}"))
}

pub fn print_progress(sample: &Sample) {
    eprintln!(
        "{:>5.0} s  {} requests  {:.0} req/s  {} unexpected  p99 {} ms  RSS {} MiB  {} keys",
        sample.t_secs,
        sample.requests,
        sample.rps,
        sample.unexpected,
        show(sample.p99_ms, 2),
        show(sample.rss_mib, 1),
        sample.keys.map_or("-".into(), |keys| keys.to_string()),
    );
}

impl Soak {
    fn half_secs(&self) -> f64 {
        self.duration.as_secs_f64() / 2.0
    }

    /// The samples from half time on, starting with the first at or after it.
    fn second_half(&self) -> &[Sample] {
        let from = self
            .samples
            .iter()
            .position(|sample| sample.t_secs >= self.half_secs())
            .unwrap_or(self.samples.len());
        &self.samples[from..]
    }

    /// Least-squares slope of RSS over the second half, MiB per minute.
    fn rss_slope(&self) -> Option<f64> {
        let points: Vec<(f64, f64)> = self
            .second_half()
            .iter()
            .filter_map(|sample| Some((sample.t_secs / 60.0, sample.rss_mib?)))
            .collect();
        let n = points.len() as f64;
        if points.len() < 2 {
            return None;
        }
        let mean_t = points.iter().map(|(t, _)| t).sum::<f64>() / n;
        let mean_r = points.iter().map(|(_, r)| r).sum::<f64>() / n;
        let covariance: f64 = points
            .iter()
            .map(|(t, r)| (t - mean_t) * (r - mean_r))
            .sum();
        let variance: f64 = points.iter().map(|(t, _)| (t - mean_t).powi(2)).sum();
        Some(covariance / variance)
    }

    pub fn verdicts(&self) -> Vec<Verdict> {
        let mut verdicts = vec![Verdict {
            name: "no unexpected answers",
            passed: self.tally.unexpected == 0,
            detail: format!(
                "{} of {} requests",
                self.tally.unexpected, self.tally.requests
            ),
        }];

        verdicts.push(Verdict {
            name: "no platform quota exceeded",
            passed: self.host_log.quota_breaches == 0,
            detail: format!("{} breaches logged", self.host_log.quota_breaches),
        });

        let incomplete = self
            .samples
            .iter()
            .filter(|sample| sample.rss_mib.is_none() || sample.keys.is_none())
            .count();
        verdicts.push(Verdict {
            name: "every sample read the host's RSS and the key count",
            passed: incomplete == 0,
            detail: format!("{incomplete} of {} samples incomplete", self.samples.len()),
        });

        let second = self.second_half();
        let rss_half = second.first().and_then(|sample| sample.rss_mib);
        let rss_max = second
            .iter()
            .filter_map(|sample| sample.rss_mib)
            .reduce(f64::max);
        let growth = rss_half.zip(rss_max).map(|(half, max)| max / half - 1.0);
        verdicts.push(Verdict {
            name: "RSS flat in the second half",
            passed: growth.is_some_and(|growth| growth <= RSS_GROWTH_LIMIT),
            detail: format!(
                "{} MiB at half time, at most {} MiB after ({}, limit +{:.0}%); slope {} MiB/min",
                show(rss_half, 1),
                show(rss_max, 1),
                growth.map_or("-".into(), |growth| format!("{:+.1}%", growth * 100.0)),
                RSS_GROWTH_LIMIT * 100.0,
                show(self.rss_slope(), 3),
            ),
        });

        // The workload touches every key it will ever create by 40% of the
        // run (the prompt ring is walked once by then), so a bounded store
        // peaks in the first half and a leaking one keeps climbing.
        let first_max = self
            .samples
            .iter()
            .filter(|sample| sample.t_secs < self.half_secs())
            .filter_map(|sample| sample.keys)
            .max();
        let second_max = second.iter().filter_map(|sample| sample.keys).max();
        let bound = first_max.map(|max| (max as f64 * (1.0 + KEY_GROWTH_LIMIT)) as u64 + KEY_SLACK);
        verdicts.push(Verdict {
            name: "key count bounded",
            passed: bound
                .zip(second_max)
                .is_some_and(|(bound, max)| max <= bound),
            detail: format!(
                "first-half peak {}, second-half peak {} (limit {}: +{:.0}% + {KEY_SLACK})",
                first_max.map_or("-".into(), |keys| keys.to_string()),
                second_max.map_or("-".into(), |keys| keys.to_string()),
                bound.map_or("-".into(), |keys| keys.to_string()),
                KEY_GROWTH_LIMIT * 100.0,
            ),
        });

        // Every window of the limit admits at most its limit, so over the run
        // the hammer gets at most that per window touched.
        let admitted = self
            .tally
            .classes
            .get(&Class::Limited)
            .and_then(|tally| tally.statuses.get(&200).copied())
            .unwrap_or(0);
        let windows = self
            .duration
            .as_secs()
            .div_ceil(traffic::LIMITED_WINDOW_SECS)
            + 1;
        let allowed = traffic::LIMITED_REQUESTS * windows;
        verdicts.push(Verdict {
            name: "rate limit held",
            passed: admitted <= allowed,
            detail: format!(
                "{admitted} admitted over the limit's {windows} windows, at most {allowed}"
            ),
        });
        verdicts
    }

    pub fn print(&self, verdicts: &[Verdict]) {
        println!(
            "\n| t s | requests | req/s | unexpected | p50 ms | p99 ms | RSS MiB | keys | keys by family | load |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for sample in &self.samples {
            let families: Vec<String> = sample
                .key_families
                .iter()
                .map(|(family, count)| format!("{family} {count}"))
                .collect();
            println!(
                "| {:.0} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
                sample.t_secs,
                sample.requests,
                sample.rps,
                sample.unexpected,
                show(sample.p50_ms, 2),
                show(sample.p99_ms, 2),
                show(sample.rss_mib, 1),
                sample.keys.map_or("-".into(), |keys| keys.to_string()),
                families.join(", "),
                show(sample.load1, 2),
            );
        }

        println!("\n| class | requests | statuses | X-WWS-Cache | unexpected | p50 ms | p99 ms |");
        println!("|---|---|---|---|---|---|---|");
        for (class, tally) in &self.tally.classes {
            let statuses: Vec<String> = tally
                .statuses
                .iter()
                .map(|(status, count)| format!("{status}: {count}"))
                .collect();
            let cache: Vec<String> = tally
                .cache
                .iter()
                .map(|(label, count)| format!("{label}: {count}"))
                .collect();
            println!(
                "| {class:?} | {} | {} | {} | {} | {:.2} | {:.2} |",
                tally.requests,
                statuses.join(", "),
                cache.join(", "),
                tally.unexpected,
                tally.p50_ms,
                tally.p99_ms,
            );
        }
        if let Some(retry_after) = self
            .tally
            .classes
            .get(&Class::Limited)
            .and_then(|tally| tally.max_retry_after)
        {
            println!("\nlargest Retry-After on a 429: {retry_after} s");
        }
        if !self.tally.unexpected_samples.is_empty() {
            println!(
                "\nunexpected answers (first {}):",
                self.tally.unexpected_samples.len()
            );
            for sample in &self.tally.unexpected_samples {
                println!("  {sample}");
            }
        }

        let rss = spread(self.samples.iter().map(|sample| sample.rss_mib));
        let keys = spread(
            self.samples
                .iter()
                .map(|sample| sample.keys.map(|k| k as f64)),
        );
        println!(
            "\n{} store, {} requests, {} unexpected",
            self.store, self.tally.requests, self.tally.unexpected
        );
        println!(
            "host stderr: {} lines, {} of them not JSON (target/soak/host-stderr.log)",
            self.host_log.lines, self.host_log.not_json
        );
        for line in &self.host_log.not_json_samples {
            println!("  {line:?}");
        }
        println!(
            "RSS MiB: first {}, min {}, max {}, last {}; second-half slope {} MiB/min",
            show(rss.first, 1),
            show(rss.min, 1),
            show(rss.max, 1),
            show(rss.last, 1),
            show(self.rss_slope(), 3),
        );
        println!(
            "keys: first {}, max {}, last {}",
            show(keys.first, 0),
            show(keys.max, 0),
            show(keys.last, 0),
        );
        for verdict in verdicts {
            let mark = if verdict.passed { "pass" } else { "FAIL" };
            println!("{mark}: {} ({})", verdict.name, verdict.detail);
        }
    }

    pub fn to_json(&self, verdicts: &[Verdict]) -> Value {
        json!({
            "store": self.store,
            "minutes": self.duration.as_secs_f64() / 60.0,
            "samples": self.samples,
            "classes": self.tally.classes,
            "requests": self.tally.requests,
            "unexpected": self.tally.unexpected,
            "unexpected_samples": self.tally.unexpected_samples,
            "rss_mib": spread(self.samples.iter().map(|sample| sample.rss_mib)),
            "rss_second_half_slope_mib_per_min": self.rss_slope(),
            "keys": spread(self.samples.iter().map(|sample| sample.keys.map(|k| k as f64))),
            "host_stderr": self.host_log,
            "verdicts": verdicts,
            "passed": verdicts.iter().all(|verdict| verdict.passed),
        })
    }
}
