//! `wws-bench --slow-clients N`: what N stalled connections from one
//! address cost everyone else. Half send a request head that never ends,
//! half an AI request head whose body stops after one byte; meanwhile
//! other addresses (127.0.0.2 for health, 127.0.0.3 for AI requests) are
//! timed, before the attack and during it, next to wws-host's memory.
//! Then it waits for the host's header and body-idle deadlines to close
//! every stalled connection, and says how long that took.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::host::Host;
use crate::mock;
use crate::probe::{self, Percentiles};

const ATTACKER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const HEALTH_CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const AI_CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const SAMPLES: usize = 300;
/// Longer than any of wws-host's default read deadlines (10 s).
const GIVE_UP: Duration = Duration::from_secs(30);

/// How one stalled connection ended.
enum Ended {
    /// The host answered (503 over the per-address caps, 408/400 at a
    /// deadline) and closed, after this long.
    Answered(String, Duration),
    /// Closed without an answer after this long.
    Closed(Duration),
    /// Still open when the bench gave up.
    Open,
}

pub async fn run(host: &Host, connections: usize, chat: &str) -> Result<()> {
    let user = format!("Bearer {}", mock::USER_TOKEN);
    let ai_headers = [
        ("authorization", user.as_str()),
        ("content-type", "application/json"),
    ];
    let health_url = format!("{}/api/wws/health", host.url);
    let ai_url = format!("{}/v1/chat/completions", host.url);
    let health = probe::Request {
        url: &health_url,
        headers: &[],
        body: "",
    };
    let ai = probe::Request {
        url: &ai_url,
        headers: &ai_headers,
        body: chat,
    };
    probe::latency_from(&ai, 20, AI_CLIENT, 200).await?;

    let rss_before = host.rss_mib().unwrap_or(f64::NAN);
    let (health_before, _) = probe::latency_from(&health, SAMPLES, HEALTH_CLIENT, 200).await?;
    let (ai_before, _) = probe::latency_from(&ai, SAMPLES, AI_CLIENT, 200).await?;

    let started = Instant::now();
    let stalled: Vec<_> = (0..connections)
        .map(|n| tokio::spawn(stall(host.url.clone(), n % 2 == 0, user.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (health_during, health_refused) =
        probe::latency_from(&health, SAMPLES, HEALTH_CLIENT, 200).await?;
    let (ai_during, ai_refused) = probe::latency_from(&ai, SAMPLES, AI_CLIENT, 200).await?;
    let measured_within = started.elapsed();
    let rss_during = host.rss_mib().unwrap_or(f64::NAN);

    let mut ended = Vec::with_capacity(connections);
    for task in stalled {
        ended.push(task.await?);
    }
    let rss_after = host.rss_mib().unwrap_or(f64::NAN);
    let peak = host.peak_rss_mib().unwrap_or(f64::NAN);

    println!(
        "\n{connections} stalled connections from {ATTACKER} \
         (half a never-ending head, half a 1-byte body); others timed over {SAMPLES} requests each"
    );
    println!("| client | before p50 / p99 ms | during p50 / p99 ms | not 200 during |");
    println!("|---|---|---|---|");
    row(
        "health from 127.0.0.2",
        &health_before,
        &health_during,
        health_refused,
    );
    row(
        "AI request from 127.0.0.3",
        &ai_before,
        &ai_during,
        ai_refused,
    );
    println!(
        "(the 'during' samples were all taken within {:.1} s of the attack's start)",
        measured_within.as_secs_f64()
    );
    println!(
        "wws-host RSS: {rss_before:.0} MiB before, {rss_during:.0} MiB during, \
         {rss_after:.0} MiB after, peak {peak:.0} MiB"
    );
    summarize(&ended);
    Ok(())
}

fn row(name: &str, before: &Percentiles, during: &Percentiles, refused: usize) {
    println!(
        "| {name} | {:.2} / {:.2} | {:.2} / {:.2} | {refused} |",
        before.p50, before.p99, during.p50, during.p99
    );
}

fn summarize(ended: &[Ended]) {
    let mut answers: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    let mut closed = Vec::new();
    let mut open = 0;
    for end in ended {
        match end {
            Ended::Answered(status, after) => answers.entry(status).or_default().push(*after),
            Ended::Closed(after) => closed.push(*after),
            Ended::Open => open += 1,
        }
    }
    for (status, times) in &answers {
        println!(
            "stalled connections answered `{status}`: {} (after {})",
            times.len(),
            span(times)
        );
    }
    println!(
        "stalled connections closed without an answer: {} (after {})",
        closed.len(),
        span(&closed)
    );
    println!(
        "stalled connections still open after {} s: {open}",
        GIVE_UP.as_secs()
    );
}

fn span(times: &[Duration]) -> String {
    match (times.iter().min(), times.iter().max()) {
        (Some(min), Some(max)) => format!("{:.1}-{:.1} s", min.as_secs_f64(), max.as_secs_f64()),
        _ => "-".into(),
    }
}

/// One connection from [`ATTACKER`] that stops sending part-way and waits
/// for the host to give up on it.
async fn stall(url: String, head_only: bool, user: String) -> Ended {
    let started = Instant::now();
    let authority = url.trim_start_matches("http://").to_string();
    let connect = async {
        let socket = TcpSocket::new_v4()?;
        socket.bind((ATTACKER, 0).into())?;
        socket
            .connect(authority.parse().map_err(std::io::Error::other)?)
            .await
    };
    let Ok(mut stream) = connect.await else {
        return Ended::Closed(started.elapsed());
    };
    let request = if head_only {
        format!("GET /api/wws/health HTTP/1.1\r\nHost: {authority}\r\nX-Stall: 1\r\n")
    } else {
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: {authority}\r\n\
             Authorization: {user}\r\nContent-Type: application/json\r\n\
             Content-Length: 100000\r\n\r\n{{"
        )
    };
    if stream.write_all(request.as_bytes()).await.is_err() {
        return Ended::Closed(started.elapsed());
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(GIVE_UP, stream.read_to_end(&mut answer)).await;
    if read.is_err() {
        return Ended::Open;
    }
    let status_line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    if status_line.is_empty() {
        Ended::Closed(started.elapsed())
    } else {
        Ended::Answered(status_line, started.elapsed())
    }
}
