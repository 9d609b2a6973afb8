//! Serving the composed component over HTTP: compiled and pre-instantiated
//! once, then a fresh instance per request, as Spin does for P2 components.

mod admission;
mod engine;
mod guest;
mod head;
mod idle_body;
mod limits;
mod linker;
mod request;
mod responses;
pub(crate) mod watch;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::allowed_hosts::AllowedHosts;
#[cfg(feature = "fault-injection")]
use crate::kv::KvFaults;
use crate::kv::{KvStore, SqliteCosts};
use crate::manifest::App;
use crate::outbound::Pool;
use crate::platform::{Platform, Quota, QuotaMeter};
use crate::runtime_config::RuntimeConfig;
use crate::spin_costs::SpinCosts;
use crate::state::{KvStores, WwsState};
use crate::summary::{Shown, Summary, describe_store};
use crate::variables::{Resolved, Sources};
use admission::PerClient;
pub use limits::Limits;

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// First and longest pause after `accept` fails (out of file descriptors,
/// most often): retrying at once would spin a core and flood the log.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(5), Duration::from_secs(1));

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
    #[cfg(feature = "fault-injection")]
    pub kv_faults: Option<KvFaults>,
    /// Test mode: hand requests to the guest the way Spin's HTTP layer does
    /// (no head-size check of the host's own, client `spin-*` headers kept
    /// and the host's `spin-client-addr` appended after them), so tests
    /// prove the component's own protections rather than this host's.
    pub spin_http_semantics: bool,
    /// Deadlines and per-client caps.
    pub limits: Limits,
    /// Benchmark mode: charge host calls what Spin charges them (see
    /// [`SpinCosts`]).
    pub spin_costs: bool,
    /// The platform to behave as (`--platform`): which interfaces are
    /// linked and which quotas hold.
    pub platform: Platform,
}

/// A loaded application, ready to serve.
pub struct Server {
    pre: ProxyPre<WwsState>,
    kv: Arc<KvStores>,
    spin_http_semantics: bool,
    limits: Limits,
    /// One permit per instance slot of the pool: a request that finds none
    /// gets 503 rather than a failed instantiation.
    instance_slots: Arc<Semaphore>,
    connections: PerClient,
    requests: PerClient,
    variables: Arc<HashMap<String, String>>,
    allowed_hosts: Arc<AllowedHosts>,
    /// Keep-alive upstream connections, shared by every request.
    pool: Arc<Pool>,
    spin_costs: Option<SpinCosts>,
    summary: Summary,
    platform: Platform,
    /// The platform's quotas and their breaches; `None` on plain Spin.
    quotas: Option<Arc<QuotaMeter>>,
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
        let sqlite_costs = if options.spin_costs {
            SqliteCosts::Spin
        } else {
            SqliteCosts::Tuned
        };
        let mut stores = HashMap::new();
        let mut described_stores = Vec::new();
        for label in &component.key_value_stores {
            let config = runtime_config.store(label, &app.component_id, &state_dir)?;
            described_stores.push((label.clone(), describe_store(&config)));
            let store = KvStore::open(&config, &state_dir, sqlite_costs)
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
        let engine = engine::engine()?;
        let component = engine::compiled(&engine, &source)?;
        let pre = linker::pre_instantiate(&engine, &component, options.platform)?;
        let quotas = QuotaMeter::for_platform(options.platform);
        let limits = options
            .limits
            .clone()
            .within(&options.platform.spec().quotas);

        Ok(Self {
            pre,
            kv: Arc::new(KvStores {
                stores,
                allowed_labels: component_labels(&app),
                #[cfg(feature = "fault-injection")]
                faults: options.kv_faults.clone(),
            }),
            spin_http_semantics: options.spin_http_semantics,
            instance_slots: Arc::new(Semaphore::new(
                limits.instances.min(engine::INSTANCE_SLOTS as usize),
            )),
            limits,
            connections: PerClient::default(),
            requests: PerClient::default(),
            spin_costs: options
                .spin_costs
                .then(|| SpinCosts::new(variables.keys().cloned())),
            variables: Arc::new(variables),
            allowed_hosts: Arc::new(allowed_hosts),
            pool: Arc::default(),
            summary: Summary {
                component: source,
                stores: described_stores,
                variables: shown,
            },
            platform: options.platform,
            quotas,
        })
    }

    /// The platform this server behaves as.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// How often each of the platform's quotas was exceeded so far (each
    /// time also one `wws-host: platform quota exceeded:` line on stderr);
    /// empty on plain Spin and while nothing was exceeded.
    pub fn quota_breaches(&self) -> Vec<(Quota, u64)> {
        self.quotas
            .as_ref()
            .map(|meter| meter.breaches())
            .unwrap_or_default()
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

    /// The resolved value of the component variable `name`.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
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
        let mut backoff = ACCEPT_BACKOFF.0;
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, client) = match accepted {
                        Ok(accepted) => {
                            backoff = ACCEPT_BACKOFF.0;
                            accepted
                        }
                        Err(error) => {
                            tracing::warn!("accept failed: {error}; pausing {backoff:?}");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(ACCEPT_BACKOFF.1);
                            continue;
                        }
                    };
                    // Responses are written as head, then body chunks as the
                    // guest produces them: Nagle would hold a chunk back
                    // until the client's (delayed) ACK, 40 ms on Linux.
                    let _ = stream.set_nodelay(true);
                    let claim = self
                        .connections
                        .claim(client.ip(), self.limits.connections_per_client);
                    let mut builder = http1::Builder::new();
                    builder
                        .timer(TokioTimer::new())
                        .header_read_timeout(self.limits.header_read)
                        .keep_alive(claim.is_some());
                    // Heads beyond this get 431 from hyper. Larger ones would
                    // pass here and trap in the guest once copied into fields
                    // bigger than wasmtime allows. Spin keeps hyper's default.
                    if !self.spin_http_semantics {
                        builder.max_buf_size(head::MAX_HEAD_BYTES);
                    }
                    let io = TokioIo::new(stream);
                    let connection = match claim {
                        Some(claim) => {
                            let server = self.clone();
                            let service = hyper::service::service_fn(move |request| {
                                server.clone().handle(request, client)
                            });
                            let connection = graceful.watch(builder.serve_connection(io, service));
                            tokio::spawn(async move {
                                let _claim = claim;
                                connection.await
                            })
                        }
                        // Over its share of connections: one answer saying
                        // so, then the connection closes.
                        None => {
                            let service = hyper::service::service_fn(|_| async {
                                Ok::<_, std::convert::Infallible>(responses::busy(
                                    "too many connections from this address",
                                ))
                            });
                            tokio::spawn(graceful.watch(builder.serve_connection(io, service)))
                        }
                    };
                    tokio::spawn(async move {
                        if let Ok(Err(error)) = connection.await {
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
}

fn component_labels(app: &App) -> BTreeSet<String> {
    app.component().key_value_stores.iter().cloned().collect()
}
