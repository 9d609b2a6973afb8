//! A gateway on wws-host in-process: which app, which platform, which store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
pub use wws_host::Limits;
pub use wws_host::Platform;
use wws_host::kv::KvFaults;
use wws_host::platform::Quota;
use wws_host::{HostOptions, Server};

pub const ALICE: &str = "token-alice";
pub const BOB: &str = "token-bob";

pub fn manifest() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../spin.toml"))
}

/// The edge build's manifest, `spin-akamai.toml`, which serves
/// `target/wws-akamai.wasm` and reads its counters' Redis address from a
/// variable ([`EDGE_REDIS_VARIABLE`]).
pub fn edge_manifest() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../spin-akamai.toml"))
}

/// The edge manifest's variable for its counters' Redis address.
pub const EDGE_REDIS_VARIABLE: &str = "redis_address";

/// Key-value store behind the gateway under test.
#[derive(Clone, Debug)]
pub enum Store {
    Memory,
    /// Spin's default: a SQLite file in the gateway's own temporary folder.
    Sqlite,
    Redis(String),
}

/// The Redis that `cargo xtask test` (or CI) started for the suite.
pub fn redis_url() -> String {
    std::env::var("WWS_TEST_REDIS_URL")
        .expect("WWS_TEST_REDIS_URL is not set: run the suite with `cargo xtask test`")
}

/// A response header that must be present, as text.
pub fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("missing header {name}"))
}

/// A token no other test uses, so shared stores never mix principals.
pub fn unique_token(label: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let sequence = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("token-{label}-{nanos}-{sequence}")
}

/// Rate-limit windows are whole minutes; a burst that straddles a boundary
/// is counted in two windows. Waits until at least `secs` remain in this one.
pub async fn wait_for_window_with(secs: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs_f64())
        .unwrap_or_default();
    let left = 60.0 - now % 60.0;
    if left < secs as f64 {
        tokio::time::sleep(std::time::Duration::from_secs_f64(left + 0.05)).await;
    }
}

/// Whose HTTP layer hands requests to the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostHttp {
    /// wws-host's own, with its protections (head limit, forged headers removed).
    WwsHost,
    /// As Spin's: only what the component itself does protects it.
    Spin,
}

/// A gateway on loopback; stops when dropped.
pub struct Gateway {
    pub url: String,
    /// Breaks or slows this gateway's key-value store on demand.
    pub faults: KvFaults,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    state: tempfile::TempDir,
    /// Kept for what it counted (quota breaches) while serving.
    server: Arc<Server>,
}

/// How a gateway's host is started: the manifest, the platform it behaves
/// as, and the rest of what [`HostOptions`] takes.
pub(crate) struct Launch {
    pub(crate) manifest: PathBuf,
    pub(crate) variables: HashMap<String, String>,
    pub(crate) store: Store,
    pub(crate) http: HostHttp,
    pub(crate) limits: Limits,
    pub(crate) platform: Platform,
}

impl Gateway {
    /// Loads the app with `variables`; errors are the host's start-up errors.
    pub async fn start(variables: HashMap<String, String>, store: Store) -> anyhow::Result<Self> {
        Self::start_with(manifest(), variables, store).await
    }

    pub async fn start_with(
        manifest: PathBuf,
        variables: HashMap<String, String>,
        store: Store,
    ) -> anyhow::Result<Self> {
        Self::start_on(Platform::Spin, manifest, variables, store).await
    }

    /// The app at `manifest` (the component it names) on wws-host behaving
    /// as `platform` (`wws-host up --platform <platform>`): only the
    /// platform's interfaces linked, its quotas enforced. Start-up fails
    /// if the component imports what the platform lacks.
    pub async fn start_on(
        platform: Platform,
        manifest: PathBuf,
        variables: HashMap<String, String>,
        store: Store,
    ) -> anyhow::Result<Self> {
        Self::launch(Launch {
            manifest,
            variables,
            store,
            http: HostHttp::WwsHost,
            limits: Limits::default(),
            platform,
        })
        .await
    }

    /// The app at `manifest`, without variables, held to `limits`.
    pub async fn start_with_limits(manifest: PathBuf, limits: Limits) -> anyhow::Result<Self> {
        Self::launch(Launch {
            manifest,
            variables: HashMap::new(),
            store: Store::Memory,
            http: HostHttp::WwsHost,
            limits,
            platform: Platform::Spin,
        })
        .await
    }

    pub(crate) async fn launch(launch: Launch) -> anyhow::Result<Self> {
        let Launch {
            manifest,
            variables,
            store,
            http,
            limits,
            platform,
        } = launch;
        let state = tempfile::tempdir()?;
        let faults = KvFaults::default();
        let runtime_config = state.path().join("runtime-config.toml");
        let table = match &store {
            Store::Memory => "type = \"memory\"".to_string(),
            Store::Sqlite => "type = \"spin\"\npath = \"sqlite_key_value.db\"".to_string(),
            Store::Redis(url) => format!("type = \"redis\"\nurl = \"{url}\""),
        };
        std::fs::write(
            &runtime_config,
            format!("[key_value_store.default]\n{table}\n"),
        )?;
        let options = HostOptions {
            manifest,
            runtime_config: Some(runtime_config),
            variables,
            process_variables: false,
            state_dir: Some(state.path().to_path_buf()),
            kv_faults: Some(faults.clone()),
            spin_http_semantics: http == HostHttp::Spin,
            limits,
            spin_costs: false,
            platform,
        };
        let server = Arc::new(Server::load(&options).await?);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.clone().serve(listener, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            url,
            faults,
            _shutdown: shutdown,
            state,
            server,
        })
    }

    /// How many `wws-host: platform quota exceeded:` lines the host has
    /// printed so far (one per breach); always 0 on [`Platform::Spin`].
    pub fn quota_breaches(&self) -> u64 {
        self.server
            .quota_breaches()
            .iter()
            .map(|(_, count)| count)
            .sum()
    }

    /// As [`Self::quota_breaches`], per quota; only the exceeded ones.
    pub fn quota_breaches_by_quota(&self) -> Vec<(Quota, u64)> {
        self.server.quota_breaches()
    }

    /// Where the gateway's SQLite store (if any) lives.
    pub fn state_dir(&self) -> &std::path::Path {
        self.state.path()
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}
