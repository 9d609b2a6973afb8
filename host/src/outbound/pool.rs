//! Keep-alive connections to upstreams, shared by every request a host
//! serves. wasmtime-wasi-http's default client connects (and for https,
//! handshakes) afresh for each outgoing request; for an edge gateway whose
//! every AI call goes to the same two providers that is most of the cost of
//! an upstream call, and tens of milliseconds over TLS.
//!
//! HTTP/1.1 allows one request at a time per connection, so a connection
//! returns to the pool only once its response body has been read to the
//! end; one dropped midway is closed. Idle connections older than
//! [`MAX_IDLE`] are not reused, so servers' keep-alive timeouts rarely race a
//! reuse.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

const MAX_IDLE: Duration = Duration::from_secs(30);
/// Idle connections kept per upstream.
const MAX_IDLE_PER_ORIGIN: usize = 64;
/// What wasmtime-wasi-http assumes when the guest sets no timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Clone, PartialEq, Eq, Hash)]
struct Origin {
    tls: bool,
    /// `host:port`.
    authority: String,
}

struct Idle {
    sender: SendRequest<WasiBody>,
    since: Instant,
}

#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<Origin, Vec<Idle>>>,
}

struct Timeouts {
    connect: Duration,
    first_byte: Duration,
    between_bytes: Duration,
}

impl Timeouts {
    fn from(options: Option<RequestOptions>) -> Self {
        let pick = |value: Option<Duration>| value.unwrap_or(DEFAULT_TIMEOUT);
        Self {
            connect: pick(options.and_then(|o| o.connect_timeout)),
            first_byte: pick(options.and_then(|o| o.first_byte_timeout)),
            // Tokio refuses a zero interval; a nanosecond is as good as zero.
            between_bytes: pick(options.and_then(|o| o.between_bytes_timeout))
                .max(Duration::from_nanos(1)),
        }
    }
}

impl Pool {
    /// Sends `request` on a pooled connection (or a new one) and returns the
    /// response, whose body gives the connection back when read to the end.
    pub async fn send(
        self: Arc<Self>,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<WasiBody>, Error> {
        let timeouts = Timeouts::from(options);
        let uri = request.uri();
        let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
        let origin = Origin {
            tls,
            authority: match authority.port() {
                Some(_) => authority.to_string(),
                None => format!("{authority}:{}", if tls { 443 } else { 80 }),
            },
        };
        // On the wire, only the path: scheme and authority are for proxies.
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        *request.uri_mut() = http::Uri::try_from(path).map_err(|_| Error::HttpRequestUriInvalid)?;

        let mut sender = match self.checkout(&origin) {
            Some(sender) => sender,
            None => connect(&origin, timeouts.connect).await?,
        };
        let response = tokio::time::timeout(timeouts.first_byte, sender.send_request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?
            .map_err(Error::from)?;
        let mut gap = tokio::time::interval(timeouts.between_bytes);
        gap.reset();
        Ok(response.map(|incoming| {
            PooledBody {
                incoming,
                gap,
                release: Some((self, origin, sender)),
            }
            .boxed_unsync()
        }))
    }

    fn checkout(&self, origin: &Origin) -> Option<SendRequest<WasiBody>> {
        let mut idle = self.idle.lock().ok()?;
        let connections = idle.get_mut(origin)?;
        while let Some(connection) = connections.pop() {
            if connection.since.elapsed() < MAX_IDLE && connection.sender.is_ready() {
                return Some(connection.sender);
            }
        }
        None
    }

    fn checkin(&self, origin: Origin, sender: SendRequest<WasiBody>) {
        if !sender.is_ready() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            let connections = idle.entry(origin).or_default();
            if connections.len() < MAX_IDLE_PER_ORIGIN {
                connections.push(Idle {
                    sender,
                    since: Instant::now(),
                });
            }
        }
    }
}

async fn connect(origin: &Origin, timeout: Duration) -> Result<SendRequest<WasiBody>, Error> {
    let connecting = async {
        let stream = TcpStream::connect(&origin.authority)
            .await
            .map_err(Error::Connect)?;
        let _ = stream.set_nodelay(true);
        if origin.tls {
            let stream = tls_connector()
                .connect(server_name(&origin.authority)?, stream)
                .await
                .map_err(Error::Tls)?;
            handshake(stream).await
        } else {
            handshake(stream).await
        }
    };
    tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| Error::ConnectionTimeout)?
}

async fn handshake<S>(stream: S) -> Result<SendRequest<WasiBody>, Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(Error::from)?;
    // The connection's I/O runs on its own task for as long as it lives.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    });
    tokio_rustls::TlsConnector::from(config.clone())
}

/// The name a certificate must carry: the host of `host:port`, or its IP.
fn server_name(authority: &str) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    use rustls::pki_types::ServerName;
    if let Ok(addr) = authority.parse::<std::net::SocketAddr>() {
        return Ok(ServerName::from(addr.ip()));
    }
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    ServerName::try_from(host)
        .map(|name| name.to_owned())
        .map_err(Error::InvalidDnsNameError)
}

/// A response body that enforces the between-bytes timeout and hands its
/// connection back to the pool once it has been read to the end.
struct PooledBody {
    incoming: hyper::body::Incoming,
    gap: tokio::time::Interval,
    release: Option<(Arc<Pool>, Origin, SendRequest<WasiBody>)>,
}

impl http_body::Body for PooledBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(context) {
            Poll::Ready(None) => {
                if let Some((pool, origin, sender)) = self.release.take() {
                    pool.checkin(origin, sender);
                }
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(error))) => {
                self.release = None;
                Poll::Ready(Some(Err(Error::from(error))))
            }
            Poll::Ready(Some(Ok(frame))) => {
                self.gap.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(self.gap.poll_tick(context));
                self.release = None;
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}
