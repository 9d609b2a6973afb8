//! Measurements oha cannot take: time to first byte and gaps between
//! chunks of streams, and the gateway's own `Server-Timing` entries.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::Serialize;

pub struct Request<'a> {
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a str,
}

/// One keep-alive connection, as a client SDK holds it.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    authority: String,
}

impl Connection {
    async fn open(url: &str) -> Result<Self> {
        Self::open_from(url, None).await
    }

    /// A connection whose client address is `source` (any 127.0.0.0/8
    /// address works on loopback), so per-address limits see another client.
    async fn open_from(url: &str, source: Option<std::net::Ipv4Addr>) -> Result<Self> {
        let authority = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let stream = match source {
            None => tokio::net::TcpStream::connect(&authority).await?,
            Some(source) => {
                let socket = tokio::net::TcpSocket::new_v4()?;
                socket.bind((source, 0).into())?;
                socket.connect(authority.parse()?).await?
            }
        };
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self { sender, authority })
    }

    async fn send(
        &mut self,
        request: &Request<'_>,
    ) -> Result<hyper::Response<hyper::body::Incoming>> {
        let path = request
            .url
            .trim_start_matches("http://")
            .trim_start_matches(self.authority.as_str());
        let method = if request.body.is_empty() {
            hyper::Method::GET
        } else {
            hyper::Method::POST
        };
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.authority);
        for (name, value) in request.headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(Bytes::from(request.body.to_string())))?;
        self.sender.ready().await?;
        Ok(self.sender.send_request(request).await?)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
}

/// Latency of `samples` sequential requests on one keep-alive connection
/// from `source`, and how many answered with another status than `status`.
pub async fn latency_from(
    request: &Request<'_>,
    samples: usize,
    source: std::net::Ipv4Addr,
    status: u16,
) -> Result<(Percentiles, usize)> {
    let mut connection = Connection::open_from(request.url, Some(source)).await?;
    let (mut millis, mut unexpected) = (Vec::with_capacity(samples), 0);
    for _ in 0..samples {
        let started = Instant::now();
        let response = connection.send(request).await?;
        if response.status().as_u16() != status {
            unexpected += 1;
        }
        response.into_body().collect().await?;
        millis.push(ms(started.elapsed()));
    }
    Ok((percentiles(millis), unexpected))
}

fn percentiles(mut millis: Vec<f64>) -> Percentiles {
    millis.sort_by(f64::total_cmp);
    let at = |q: f64| {
        millis
            .get(((millis.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    Percentiles {
        p50: at(0.5),
        p99: at(0.99),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamTiming {
    pub first_byte_ms: Percentiles,
    pub chunk_gap_ms: Percentiles,
}

/// Time to the first body bytes and between later chunks, over `samples`
/// streamed requests.
pub async fn stream_timing(request: &Request<'_>, samples: usize) -> Result<StreamTiming> {
    let mut connection = Connection::open(request.url).await?;
    let (mut first_bytes, mut gaps) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        let started = Instant::now();
        let mut body = connection.send(request).await?.into_body();
        let mut last: Option<Instant> = None;
        while let Some(frame) = body.frame().await {
            if !frame.context("stream broke")?.is_data() {
                continue;
            }
            let now = Instant::now();
            match last {
                None => first_bytes.push(ms(now - started)),
                Some(previous) => gaps.push(ms(now - previous)),
            }
            last = Some(now);
        }
    }
    Ok(StreamTiming {
        first_byte_ms: percentiles(first_bytes),
        chunk_gap_ms: percentiles(gaps),
    })
}

/// Every `Server-Timing` entry over `samples` sequential requests.
pub async fn server_timing(
    request: &Request<'_>,
    samples: usize,
) -> Result<BTreeMap<String, Percentiles>> {
    let mut connection = Connection::open(request.url).await?;
    let mut entries: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for _ in 0..samples {
        let response = connection.send(request).await?;
        for value in response.headers().get_all("server-timing") {
            for entry in value.to_str().unwrap_or_default().split(',') {
                let mut parts = entry.trim().split(';');
                let name = parts.next().unwrap_or_default().to_string();
                let duration =
                    parts.find_map(|part| part.trim().strip_prefix("dur=")?.parse::<f64>().ok());
                if let Some(duration) = duration {
                    entries.entry(name).or_default().push(duration);
                }
            }
        }
        response.into_body().collect().await?;
    }
    Ok(entries
        .into_iter()
        .map(|(name, values)| (name, percentiles(values)))
        .collect())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
