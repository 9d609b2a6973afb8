//! Serving the composed component over HTTP: compiled and pre-instantiated
//! once, then a fresh instance per request, as Spin does for P2 components.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpView};

use crate::allowed_hosts::AllowedHosts;
use crate::bindings::SpinHost;
use crate::kv::{KvFaults, KvStore};
use crate::manifest::App;
use crate::outbound::{OutboundPolicy, Pool};
use crate::runtime_config::RuntimeConfig;
use crate::state::{KvStores, WwsState};
use crate::summary::{Shown, Summary, describe_store};
use crate::variables::{Resolved, Sources};

/// Largest request head accepted (request line plus headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything `wws-host up` accepts, and what tests set directly.
#[derive(Clone, Default)]
pub struct HostOptions {
    pub manifest: PathBuf,
    pub runtime_config: Option<PathBuf>,
    /// `--variable name=value`, highest priority.
    pub variables: HashMap<String, String>,
    /// Read `SPIN_VARIABLE_*` and `.env` (off in tests, for isolation).
    pub process_variables: bool,
    /// Where the default SQLite store lives; Spin's `.spin/` by default.
    pub state_dir: Option<PathBuf>,
    /// Test mode: a switch that makes the key-value stores fail or lag.
    pub kv_faults: Option<KvFaults>,
    /// Test mode: hand requests to the guest the way Spin's HTTP layer does
    /// (no head-size check of the host's own, client `spin-*` headers kept
    /// and the host's `spin-client-addr` appended after them), so tests
    /// prove the component's own protections rather than this host's.
    pub spin_http_semantics: bool,
}

/// A loaded application, ready to serve.
pub struct Server {
    pre: ProxyPre<WwsState>,
    kv: Arc<KvStores>,
    spin_http_semantics: bool,
    variables: Arc<HashMap<String, String>>,
    allowed_hosts: Arc<AllowedHosts>,
    /// Keep-alive upstream connections, shared by every request.
    pool: Arc<Pool>,
    summary: Summary,
}

impl Server {
    /// Loads manifest, variables and stores, and compiles the component.
    /// Every configuration error surfaces here, before a port is bound.
    pub async fn load(options: &HostOptions) -> Result<Self> {
        let app = App::load(&options.manifest)?;
        let sources = if options.process_variables {
            Sources::from_process(options.variables.clone())?
        } else {
            Sources {
                overrides: options.variables.clone(),
                ..Sources::default()
            }
        };
        let resolved = Resolved::resolve(&app.manifest, &sources)?;
        let component = app.component();
        let variables = resolved.component_values(&component.variables)?;
        let shown = component
            .variables
            .iter()
            .map(|(name, template)| {
                let value = variables.get(name).cloned().unwrap_or_default();
                let shown = if resolved.is_secret(template) {
                    Shown::Secret {
                        set: !value.is_empty(),
                    }
                } else {
                    Shown::Value(value)
                };
                (name.clone(), shown)
            })
            .collect();
        let allowed_hosts = resolved.allowed_hosts(&component.allowed_outbound_hosts)?;

        let runtime_config = match &options.runtime_config {
            Some(path) => RuntimeConfig::load(path)?,
            None => RuntimeConfig::default(),
        };
        let state_dir = options
            .state_dir
            .clone()
            .unwrap_or_else(|| app.dir.join(".spin"));
        let mut stores = HashMap::new();
        let mut described_stores = Vec::new();
        for label in &component.key_value_stores {
            let config = runtime_config.store(label, &app.component_id, &state_dir)?;
            described_stores.push((label.clone(), describe_store(&config)));
            let store = KvStore::open(&config, &state_dir)
                .await
                .with_context(|| format!("opening key-value store {label:?}"))?;
            stores.insert(label.clone(), store);
        }

        let source = app.source_path();
        if !source.exists() {
            bail!(
                "component {} not found: run `cargo xtask build` first",
                source.display()
            );
        }
        let engine = engine()?;
        let component = compiled(&engine, &source)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        SpinHost::add_to_linker::<_, wasmtime::component::HasSelf<WwsState>>(
            &mut linker,
            |state| state,
        )?;
        let pre = ProxyPre::new(linker.instantiate_pre(&component)?)?;

        Ok(Self {
            pre,
            kv: Arc::new(KvStores {
                stores,
                allowed_labels: component_labels(&app),
                faults: options.kv_faults.clone(),
            }),
            spin_http_semantics: options.spin_http_semantics,
            variables: Arc::new(variables),
            allowed_hosts: Arc::new(allowed_hosts),
            pool: Arc::default(),
            summary: Summary {
                component: source,
                stores: described_stores,
                variables: shown,
            },
        })
    }

    /// Variables whose value looks like JSON (starts with `{` or `[`) but
    /// does not parse, with the parser's message (which quotes no value).
    pub fn invalid_json_variables(&self) -> Vec<(String, String)> {
        let mut invalid: Vec<_> = self
            .variables
            .iter()
            .filter(|(_, value)| value.trim_start().starts_with(['{', '[']))
            .filter_map(|(name, value)| {
                serde_json::from_str::<serde_json::Value>(value)
                    .err()
                    .map(|error| (name.clone(), error.to_string()))
            })
            .collect();
        invalid.sort();
        invalid
    }

    /// The loaded application, secrets hidden, for banners and checks.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, client) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            tracing::warn!("accept failed: {error}");
                            continue;
                        }
                    };
                    // Responses are written as head, then body chunks as the
                    // guest produces them: Nagle would hold a chunk back
                    // until the client's (delayed) ACK, 40 ms on Linux.
                    let _ = stream.set_nodelay(true);
                    let server = self.clone();
                    let service = hyper::service::service_fn(move |request| {
                        server.clone().handle(request, client)
                    });
                    let mut builder = http1::Builder::new();
                    builder.keep_alive(true);
                    // Heads beyond this get 431 from hyper. Larger ones would
                    // pass here and trap in the guest once copied into fields
                    // bigger than wasmtime allows. Spin keeps hyper's default.
                    if !self.spin_http_semantics {
                        builder.max_buf_size(MAX_HEAD_BYTES);
                    }
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!("connection from {client} ended: {error}");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("in-flight requests did not finish within {DRAIN_TIMEOUT:?}");
        }
        Ok(())
    }

    async fn handle(
        self: Arc<Self>,
        mut request: hyper::Request<Incoming>,
        client: SocketAddr,
    ) -> Result<hyper::Response<HyperOutgoingBody>, Infallible> {
        let started = Instant::now();
        // hyper's own limit is approximate (it checks only heads still
        // incomplete), so the exact one is here, before the guest copies them.
        let head_bytes: usize = request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        if head_bytes > MAX_HEAD_BYTES && !self.spin_http_semantics {
            return Ok(head_too_large());
        }
        // The guest's request needs an authority: without one (an HTTP/1.0
        // health checker) or with bytes a host name cannot hold, that is
        // the client's mistake, not the component failing.
        if !self.spin_http_semantics && !has_usable_authority(&request) {
            return Ok(json_error(
                hyper::StatusCode::BAD_REQUEST,
                r#"{"error":{"type":"invalid_request_error","message":"the request needs a Host header of visible ASCII characters"}}"#,
            ));
        }
        let method = request.method().clone();
        // The path only: queries may carry secrets and never reach the log.
        let path = request.uri().path().to_string();
        let headers = request.headers_mut();
        // Clients may not forge host-set headers, and the headers their
        // `Connection` names belong to this hop only (RFC 9110 7.6.1); the
        // guest never sees `Connection` itself, so it cannot drop them.
        let connection_named: Vec<String> = headers
            .get_all(hyper::header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|token| token.trim().to_ascii_lowercase())
            .filter(|token| !token.is_empty())
            .collect();
        let hop_or_forged: Vec<_> = headers
            .keys()
            .filter(|name| {
                name.as_str().starts_with("spin-")
                    || connection_named.iter().any(|token| token == name.as_str())
            })
            .cloned()
            .collect();
        if self.spin_http_semantics {
            // Spin 4.0.2 turns every header value into a string before the
            // guest runs; one that is not UTF-8 fails the request (500).
            if headers
                .values()
                .any(|value| std::str::from_utf8(value.as_bytes()).is_err())
            {
                return Ok(json_error(hyper::StatusCode::INTERNAL_SERVER_ERROR, ""));
            }
            if let Ok(value) = client.to_string().parse() {
                headers.append("spin-client-addr", value);
            }
        } else {
            for name in hop_or_forged {
                headers.remove(name);
            }
            if let Ok(value) = client.to_string().parse() {
                headers.insert("spin-client-addr", value);
            }
        }
        let response = match self.run_guest(request).await {
            Ok(response) => response,
            Err(error) => {
                tracing::error!("{method} {path}: component failed: {error:#}");
                internal_error()
            }
        };
        // The component writes the JSON access line operators read; this
        // one is for debugging the host itself (RUST_LOG=wws_host=debug).
        tracing::debug!(
            "{client} \"{method} {path}\" {} {:.3}ms",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        Ok(response)
    }

    async fn run_guest(
        &self,
        request: hyper::Request<Incoming>,
    ) -> Result<hyper::Response<HyperOutgoingBody>> {
        let mut store = Store::new(
            self.pre.engine(),
            WwsState {
                wasi: WasiCtx::builder().inherit_stdout().inherit_stderr().build(),
                http: WasiHttpCtx::new(),
                table: ResourceTable::new(),
                kv: self.kv.clone(),
                variables: self.variables.clone(),
                outbound: OutboundPolicy {
                    allowed: self.allowed_hosts.clone(),
                    pool: self.pool.clone(),
                },
            },
        );
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();
        let (instantiated, instantiate_time) = tokio::sync::oneshot::channel();
        // The guest keeps running after its response head is sent: body
        // streaming and background revalidation happen in this task.
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let proxy = pre.instantiate_async(&mut store).await?;
            let _ = instantiated.send(started.elapsed());
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, out)
                .await
        });
        match receiver.await {
            Ok(Ok(mut response)) => {
                // What the per-request sandbox costs, next to the guest's own
                // Server-Timing entries, so benchmarks can report it.
                if let Ok(elapsed) = instantiate_time.await {
                    let entry = format!("instantiate;dur={:.3}", elapsed.as_secs_f64() * 1000.0);
                    if let Ok(value) = entry.parse() {
                        response.headers_mut().append("server-timing", value);
                    }
                }
                Ok(response)
            }
            Ok(Err(code)) => bail!("component answered with error code {code:?}"),
            Err(_) => match task.await {
                Ok(Ok(())) => bail!("component returned without sending a response"),
                Ok(Err(error)) => Err(error.into()),
                Err(error) => Err(error.into()),
            },
        }
    }
}

fn has_usable_authority(request: &hyper::Request<Incoming>) -> bool {
    request.uri().authority().is_some()
        || request
            .headers()
            .get(hyper::header::HOST)
            .is_some_and(|host| {
                !host.is_empty() && host.as_bytes().iter().all(u8::is_ascii_graphic)
            })
}

fn component_labels(app: &App) -> BTreeSet<String> {
    app.component().key_value_stores.iter().cloned().collect()
}

fn internal_error() -> hyper::Response<HyperOutgoingBody> {
    json_error(
        hyper::StatusCode::INTERNAL_SERVER_ERROR,
        r#"{"error":{"type":"internal_error","message":"the gateway component failed"}}"#,
    )
}

fn head_too_large() -> hyper::Response<HyperOutgoingBody> {
    json_error(
        hyper::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        r#"{"error":{"type":"request_header_fields_too_large","message":"request headers exceed 64 KiB"}}"#,
    )
}

fn json_error(status: hyper::StatusCode, body: &'static str) -> hyper::Response<HyperOutgoingBody> {
    let body = Full::new(bytes::Bytes::from_static(body.as_bytes()))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Compiles `source`, or reuses this process's compilation of the same
/// unchanged file: tests start many servers, and compiling is the slow part.
fn compiled(engine: &Engine, source: &std::path::Path) -> Result<Component> {
    type Compiled = HashMap<PathBuf, (std::time::SystemTime, Component)>;
    static COMPILED: std::sync::OnceLock<std::sync::Mutex<Compiled>> = std::sync::OnceLock::new();
    let modified = std::fs::metadata(source)?.modified()?;
    let cache = COMPILED.get_or_init(Default::default);
    if let Ok(cache) = cache.lock()
        && let Some((when, component)) = cache.get(source)
        && *when == modified
    {
        return Ok(component.clone());
    }
    let component = Component::from_file(engine, source)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("compiling {}", source.display()))?;
    if let Ok(mut cache) = cache.lock() {
        cache.insert(source.to_path_buf(), (modified, component.clone()));
    }
    Ok(component)
}

/// One engine per process: compiled code and its caches are shared by every
/// server the process runs (tests start many).
/// Concurrent requests (each one instance of the composed component) the
/// pool holds slots for; beyond it, instantiation fails and the request 500s.
const INSTANCE_SLOTS: u32 = 512;
/// Per guest memory; the components use a few MiB.
const GUEST_MEMORY_LIMIT: usize = 256 << 20;
/// More than a request touches in each component's memory.
const KEEP_RESIDENT: usize = 2 << 20;

fn engine() -> Result<Engine> {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    if let Some(engine) = ENGINE.get() {
        return Ok(engine.clone());
    }
    let mut config = Config::new();
    // A fresh instance per request: the pooling allocator keeps memories
    // and tables mapped and reuses them instead of mapping per request.
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(INSTANCE_SLOTS)
        .total_core_instances(INSTANCE_SLOTS * 8)
        .total_memories(INSTANCE_SLOTS * 8)
        .total_tables(INSTANCE_SLOTS * 8)
        .max_memory_size(GUEST_MEMORY_LIMIT)
        // Reset the first pages of a reused slot with memset instead of
        // madvise: no page faults and no TLB shootdowns on the next request
        // (the profile showed them as the largest single cost).
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config)?;
    Ok(ENGINE.get_or_init(|| engine).clone())
}
