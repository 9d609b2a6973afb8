//! Runs the composed `target/wws.wasm` on wws-host in-process, on an
//! ephemeral loopback port, with the repository's own `spin.toml`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use tokio::net::TcpListener;
pub use wws_host::Limits;
use wws_host::kv::KvFaults;
use wws_host::{HostOptions, Server};

use crate::mock::{self, MockServer};
use crate::provider::{self, Script};
use crate::supabase;

pub const ALICE: &str = "token-alice";
pub const BOB: &str = "token-bob";

pub fn manifest() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../spin.toml"))
}

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
        Self::launch(
            manifest,
            variables,
            store,
            HostHttp::WwsHost,
            Limits::default(),
        )
        .await
    }

    /// The app at `manifest`, without variables, held to `limits`.
    pub async fn start_with_limits(manifest: PathBuf, limits: Limits) -> anyhow::Result<Self> {
        let variables = HashMap::new();
        Self::launch(
            manifest,
            variables,
            Store::Memory,
            HostHttp::WwsHost,
            limits,
        )
        .await
    }

    async fn launch(
        manifest: PathBuf,
        variables: HashMap<String, String>,
        store: Store,
        http: HostHttp,
        limits: Limits,
    ) -> anyhow::Result<Self> {
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
        };
        let server = Arc::new(Server::load(&options).await?);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.serve(listener, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            url,
            faults,
            _shutdown: shutdown,
            state,
        })
    }

    /// Where the gateway's SQLite store (if any) lives.
    pub fn state_dir(&self) -> &std::path::Path {
        self.state.path()
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

/// The origin mock echoes what it received. Paths under `/cacheable` answer
/// with `Cache-Control: public, max-age=60`, under `/private` with
/// `private, max-age=60`.
fn origin_answer(request: &mock::Recorded) -> hyper::Response<mock::Body> {
    let mut response = mock::json(
        200,
        json!({
            "origin": true,
            "method": request.method,
            "path": request.path_and_query,
            "authorization": request.header("authorization"),
            "headers": request
                .headers
                .iter()
                .map(|(name, value)| (name.to_string(), json!(value.to_str().unwrap_or("?"))))
                .collect::<serde_json::Map<_, _>>(),
            "body": String::from_utf8_lossy(&request.body),
        }),
    );
    let cache_control = if request.path_and_query.starts_with("/cacheable") {
        Some("public, max-age=60")
    } else if request.path_and_query.starts_with("/private") {
        Some("private, max-age=60")
    } else {
        None
    };
    if let Some(value) = cache_control {
        response
            .headers_mut()
            .insert("cache-control", http::HeaderValue::from_static(value));
    }
    response
}

/// The gateway with every upstream mocked on loopback.
pub struct Env {
    pub gateway: Gateway,
    pub primary: MockServer,
    pub primary_script: Script,
    pub fallback: MockServer,
    pub fallback_script: Script,
    pub supabase: MockServer,
    pub supabase_keys: supabase::PublishedKeys,
    pub origin: MockServer,
    pub client: reqwest::Client,
}

impl Env {
    pub async fn start() -> Self {
        Self::start_with(&[], Store::Memory).await
    }

    /// Starts mocks and a gateway; `extra` overrides or adds variables.
    pub async fn start_with(extra: &[(&str, &str)], store: Store) -> Self {
        Self::start_from(manifest(), extra, store).await
    }

    /// As [`Env::start_with`], serving the manifest at `manifest`.
    pub async fn start_from(manifest: PathBuf, extra: &[(&str, &str)], store: Store) -> Self {
        Self::launch(manifest, extra, store, HostHttp::WwsHost, Limits::default()).await
    }

    /// Mocks and a gateway whose host passes requests on as Spin does.
    pub async fn start_spin_http(extra: &[(&str, &str)]) -> Self {
        Self::launch(
            manifest(),
            extra,
            Store::Memory,
            HostHttp::Spin,
            Limits::default(),
        )
        .await
    }

    /// Mocks and a gateway whose host holds clients to `limits`.
    pub async fn start_limited(extra: &[(&str, &str)], limits: Limits) -> Self {
        Self::launch(manifest(), extra, Store::Memory, HostHttp::WwsHost, limits).await
    }

    async fn launch(
        manifest: PathBuf,
        extra: &[(&str, &str)],
        store: Store,
        http: HostHttp,
        limits: Limits,
    ) -> Self {
        let (primary, primary_script) = provider::start("primary", provider::SYNTHETIC_KEY).await;
        let (fallback, fallback_script) = provider::start("fallback", provider::ZAI_KEY).await;
        let (supabase, supabase_keys) = supabase::start().await;
        let origin = MockServer::start(Arc::new(origin_answer)).await;
        let mut variables = variables_for(&primary, &fallback, &supabase, &origin);
        for (name, value) in extra {
            variables.insert(name.to_string(), value.to_string());
        }
        let gateway = Gateway::launch(manifest, variables, store, http, limits)
            .await
            .expect("gateway starts; run `cargo xtask build` first if target/wws.wasm is missing");
        Self {
            gateway,
            primary,
            primary_script,
            fallback,
            fallback_script,
            supabase,
            supabase_keys,
            origin,
            client: reqwest::Client::new(),
        }
    }

    pub fn post(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.client.post(self.gateway.at(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// POSTs a JSON body with an optional bearer token.
    pub async fn send_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.post(path, token)
            .json(body)
            .send()
            .await
            .expect("gateway answers")
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.client.get(self.gateway.at(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

pub fn variables_for(
    primary: &MockServer,
    fallback: &MockServer,
    supabase: &MockServer,
    origin: &MockServer,
) -> HashMap<String, String> {
    HashMap::from([
        ("synthetic_api_key".into(), provider::SYNTHETIC_KEY.into()),
        ("zai_api_key".into(), provider::ZAI_KEY.into()),
        ("primary_url".into(), primary.url()),
        ("fallback_url".into(), fallback.url()),
        ("supabase_url".into(), supabase.url()),
        ("supabase_anon_key".into(), supabase::ANON_KEY.into()),
        ("origin_url".into(), origin.url()),
    ])
}
