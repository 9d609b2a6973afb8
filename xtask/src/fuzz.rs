//! `cargo xtask fuzz [--seconds N] [target...]`: builds the fuzz targets in
//! `fuzz/` with libFuzzer's coverage instrumentation on the stable toolchain
//! (what `cargo fuzz build --sanitizer none` does, without needing nightly or
//! cargo-fuzz), runs each for N seconds, one at a time, and fails on a crash.
//!
//! New inputs go to `target/fuzz/corpus/<target>`; the committed seeds in
//! `fuzz/corpus/<target>` are only read, so they stay small and hand-written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Short enough for CI (the build and every target in about four minutes),
/// long enough to replay the seeds and mutate them well past them.
const DEFAULT_SECONDS: u64 = 10;

/// What `cargo fuzz build` passes with `--sanitizer none`; all of it works on
/// stable. `--cfg fuzzing` is what cargo-fuzz sets for crates that check it.
/// Debug assertions and overflow checks come from the release profile in
/// fuzz/Cargo.toml, so `cargo fuzz` builds get them too.
const INSTRUMENTATION: [&str; 7] = [
    "--cfg=fuzzing",
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cllvm-args=-sanitizer-coverage-stack-depth",
];

/// Longest input per target: room for realistic inputs and a margin, no
/// more, so time goes to shapes rather than to sheer size.
fn max_len(target: &str) -> usize {
    match target {
        "cache_control" => 512,
        "sse" => 16 * 1024,
        "jwks" | "canonical_json" => 8 * 1024,
        _ => 4 * 1024,
    }
}

struct Report {
    target: String,
    seconds: f64,
    executions: Option<u64>,
    per_second: Option<u64>,
    coverage: Option<u64>,
    features: Option<u64>,
    corpus: usize,
    new_units: Option<u64>,
    crashes: Vec<PathBuf>,
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let (seconds, mut targets) = parse_args(args)?;
    let fuzz = root.join("fuzz");
    let known = known_targets(&fuzz)?;
    if targets.is_empty() {
        targets = known.clone();
    }
    if let Some(unknown) = targets.iter().find(|target| !known.contains(target)) {
        bail!("no fuzz target {unknown:?}; targets: {}", known.join(", "));
    }
    let work = root.join("target/fuzz");
    let binaries = build(&fuzz, &work, &targets)?;

    let mut reports = Vec::new();
    for target in &targets {
        let report = run_target(&fuzz, &work, &binaries, target, seconds)?;
        println!(
            "fuzz {}: {} runs, {}/s, cov {}, corpus {}, crashes {}",
            report.target,
            show(report.executions),
            show(report.per_second),
            show(report.coverage),
            report.corpus,
            report.crashes.len()
        );
        reports.push(report);
    }
    print_table(&reports);

    let crashed: Vec<&Report> = reports.iter().filter(|r| !r.crashes.is_empty()).collect();
    if !crashed.is_empty() {
        for report in &crashed {
            for crash in &report.crashes {
                eprintln!(
                    "{}: {}\n  reproduce: {} {}",
                    report.target,
                    crash.display(),
                    binaries.join(&report.target).display(),
                    crash.display()
                );
            }
        }
        bail!(
            "fuzzing found crashes in: {}",
            crashed
                .iter()
                .map(|r| r.target.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

fn parse_args(args: &[String]) -> Result<(u64, Vec<String>)> {
    let mut seconds = DEFAULT_SECONDS;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--seconds" => Some(args.next().context("--seconds needs a value")?.as_str()),
            other => other.strip_prefix("--seconds="),
        };
        match value {
            Some(value) => {
                seconds = value
                    .parse()
                    .ok()
                    .filter(|seconds| *seconds > 0)
                    .with_context(|| format!("--seconds takes a positive number, not {value:?}"))?;
            }
            None if arg.starts_with('-') => {
                bail!("usage: cargo xtask fuzz [--seconds N] [target...]")
            }
            None => targets.push(arg.clone()),
        }
    }
    Ok((seconds, targets))
}

/// The targets are the files in `fuzz/fuzz_targets`, as for cargo-fuzz.
fn known_targets(fuzz: &Path) -> Result<Vec<String>> {
    let dir = fuzz.join("fuzz_targets");
    let mut targets = Vec::new();
    for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "rs")
            && let Some(stem) = path.file_stem().and_then(|stem| stem.to_str())
        {
            targets.push(stem.to_string());
        }
    }
    targets.sort();
    Ok(targets)
}

/// Builds the targets; returns the directory that holds their binaries.
fn build(fuzz: &Path, work: &Path, targets: &[String]) -> Result<PathBuf> {
    // With an explicit target the flags reach only the fuzzed code, not build
    // scripts and proc macros, which could not link the coverage hooks.
    let host = host_triple()?;
    let mut rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    for flag in INSTRUMENTATION {
        rustflags.push(' ');
        rustflags.push_str(flag);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--target", &host])
        .current_dir(fuzz)
        .env("RUSTFLAGS", rustflags.trim())
        .env("CARGO_TARGET_DIR", work);
    for target in targets {
        command.args(["--bin", target]);
    }
    let status = command.status().context("running cargo build in fuzz/")?;
    if !status.success() {
        bail!("building the fuzz targets failed");
    }
    Ok(work.join(host).join("release"))
}

fn host_triple() -> Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_string)
        .context("rustc -vV names no host")
}

fn run_target(
    fuzz: &Path,
    work: &Path,
    binaries: &Path,
    target: &str,
    seconds: u64,
) -> Result<Report> {
    let corpus = work.join("corpus").join(target);
    let artifacts = work.join("artifacts").join(target);
    let logs = work.join("logs");
    for dir in [&corpus, &artifacts, &logs] {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let seeds = fuzz.join("corpus").join(target);
    let before = findings(&artifacts)?;
    let log_path = logs.join(format!("{target}.log"));
    let log = fs::File::create(&log_path)?;
    println!(
        "--- fuzz {target} ({seconds} s, log {})",
        log_path.display()
    );
    let started = Instant::now();
    // libFuzzer writes new inputs to the first directory and only reads the
    // others, so the committed seeds are never touched.
    let status = Command::new(binaries.join(target))
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={}", max_len(target)))
        .arg("-rss_limit_mb=2048")
        .arg("-timeout=10")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(&corpus)
        .arg(&seeds)
        .stdout(log.try_clone()?)
        .stderr(log)
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("running fuzz target {target}"))?;
    let elapsed = started.elapsed().as_secs_f64();
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    let stat = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("stat::{name}:")))
            .and_then(|value| value.trim().parse::<u64>().ok())
    };
    // The last status line carries the final coverage:
    // `#123456 DONE cov: 789 ft: 2345 corp: 67/8901b ...`.
    let last = text.lines().rev().find(|line| line.contains(" cov: "));
    let field = |name: &str| {
        last.and_then(|line| {
            let mut words = line.split_whitespace();
            words.find(|word| *word == name)?;
            words.next()?.parse::<u64>().ok()
        })
    };
    let mut crashes: Vec<PathBuf> = findings(&artifacts)?
        .into_iter()
        .filter(|path| !before.contains(path))
        .collect();
    if !status.success() && crashes.is_empty() {
        // A failure that left no artifact still counts; the log tells why.
        crashes.push(log_path);
    }
    Ok(Report {
        target: target.to_string(),
        seconds: elapsed,
        executions: stat("number_of_executed_units"),
        per_second: stat("average_exec_per_sec"),
        coverage: field("cov:"),
        features: field("ft:"),
        corpus: fs::read_dir(&corpus)?.count(),
        new_units: stat("new_units_added"),
        crashes,
    })
}

/// Inputs libFuzzer saved because they crashed, leaked, ran out of memory
/// or timed out.
fn findings(artifacts: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(artifacts)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        if ["crash-", "leak-", "oom-", "timeout-"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            found.push(path);
        }
    }
    Ok(found)
}

fn show(value: Option<u64>) -> String {
    value.map_or_else(|| "?".into(), |value| value.to_string())
}

fn print_table(reports: &[Report]) {
    println!(
        "\n{:<16} {:>8} {:>12} {:>9} {:>6} {:>7} {:>7} {:>5} {:>8}",
        "target", "seconds", "executions", "exec/s", "cov", "ft", "corpus", "new", "crashes"
    );
    for r in reports {
        println!(
            "{:<16} {:>8.0} {:>12} {:>9} {:>6} {:>7} {:>7} {:>5} {:>8}",
            r.target,
            r.seconds,
            show(r.executions),
            show(r.per_second),
            show(r.coverage),
            show(r.features),
            r.corpus,
            show(r.new_units),
            r.crashes.len()
        );
    }
}
