//! Raw HTTP/1.1 over TCP, for requests an HTTP client will not send:
//! oversized or malformed heads, conflicting framing, odd methods and
//! targets, bytes that are not UTF-8.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What came back on the connection.
#[derive(Debug)]
pub struct RawReply {
    /// `None` when the server closed the connection without answering.
    pub status: Option<u16>,
    /// Everything read until the server closed the connection.
    pub raw: Vec<u8>,
}

impl RawReply {
    /// The first answer's body as JSON (the gateway's errors carry a
    /// `Content-Length`); `Null` when there is none.
    pub fn json(&self) -> serde_json::Value {
        let text = String::from_utf8_lossy(&self.raw);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            return serde_json::Value::Null;
        };
        let length = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(body.len());
        serde_json::from_str(body.get(..length).unwrap_or(body)).unwrap_or_default()
    }

    /// How many responses the server wrote on this connection.
    pub fn responses(&self) -> usize {
        String::from_utf8_lossy(&self.raw)
            .matches("HTTP/1.1 ")
            .count()
    }
}

/// A request with `Connection: close`, the given header lines and, when
/// `body` is not empty, a `Content-Length`.
pub fn request(request_line: &str, headers: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut bytes =
        format!("{request_line} HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n")
            .into_bytes();
    for header in headers {
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() {
        bytes.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    bytes
}

/// Writes `request` to the server at `base_url` and reads until it closes
/// the connection (at most ten seconds).
pub async fn exchange(base_url: &str, request: &[u8]) -> RawReply {
    let authority = base_url.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .expect("connect to the gateway");
    exchange_on(stream, request, Duration::from_secs(10))
        .await
        .expect("the connection stayed open past 10 s")
}

/// A connection to the server at `base_url` from the loopback address
/// `source` (any of 127.0.0.0/8): another client, as far as the server can
/// tell.
pub async fn connect_from(base_url: &str, source: [u8; 4]) -> tokio::net::TcpStream {
    let server: std::net::SocketAddr = base_url
        .trim_start_matches("http://")
        .parse()
        .expect("a loopback address");
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(std::net::SocketAddr::from((source, 0)))
        .expect("bind a loopback source address");
    socket
        .connect(server)
        .await
        .expect("connect to the gateway")
}

/// Writes `request` on `stream` and reads until the server closes it (at
/// most `limit`); `None` when it stayed open.
pub async fn exchange_on(
    mut stream: tokio::net::TcpStream,
    request: &[u8],
    limit: Duration,
) -> Option<RawReply> {
    // A server may answer and close before it read a large request whole;
    // what it answered is still there to read.
    let _ = stream.write_all(request).await;
    let mut raw = Vec::new();
    // A reset after the answer still leaves the answer in `raw`.
    let _read = tokio::time::timeout(limit, stream.read_to_end(&mut raw))
        .await
        .ok()?;
    let status = raw
        .strip_prefix(b"HTTP/1.1 ")
        .and_then(|rest| std::str::from_utf8(rest.get(..3)?).ok())
        .and_then(|code| code.parse().ok());
    Some(RawReply { status, raw })
}
