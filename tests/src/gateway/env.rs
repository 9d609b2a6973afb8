//! [`Env`]: a gateway with every upstream it calls mocked on loopback.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;

use super::host::{
    EDGE_REDIS_VARIABLE, Gateway, HostHttp, Launch, Limits, Platform, Store, edge_manifest,
    manifest, redis_url, unique_token,
};
use crate::mock::{self, MockServer};
use crate::provider::{self, Script};
use crate::supabase;

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

impl Launch {
    /// The repository's `spin.toml` on plain Spin.
    fn standard(store: Store, limits: Limits) -> Self {
        Self {
            manifest: manifest(),
            variables: HashMap::new(),
            store,
            http: HostHttp::WwsHost,
            limits,
            platform: Platform::Spin,
        }
    }
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
        Self::start_on(Platform::Spin, manifest, extra, store).await
    }

    /// Mocks and a gateway serving `manifest` on wws-host behaving as
    /// `platform` (see [`Gateway::start_on`]).
    pub async fn start_on(
        platform: Platform,
        manifest: PathBuf,
        extra: &[(&str, &str)],
        store: Store,
    ) -> Self {
        Self::launch(
            Launch {
                manifest,
                variables: HashMap::new(),
                store,
                http: HostHttp::WwsHost,
                limits: Limits::default(),
                platform,
            },
            extra,
        )
        .await
    }

    /// Mocks and the edge build as Akamai Functions would run it:
    /// [`edge_manifest`] on `--platform akamai`, its counters' Redis
    /// ([`EDGE_REDIS_VARIABLE`]) set to the suite's Redis unless `extra`
    /// sets it, key-value in memory.
    pub async fn start_edge(extra: &[(&str, &str)]) -> Self {
        let redis = redis_url();
        // Its own counters in the shared Redis unless `extra` says whose.
        let prefix = format!("{}:", unique_token("edge"));
        let mut variables = vec![
            (EDGE_REDIS_VARIABLE, redis.as_str()),
            ("redis_key_prefix", prefix.as_str()),
        ];
        variables.extend_from_slice(extra);
        Self::start_on(Platform::Akamai, edge_manifest(), &variables, Store::Memory).await
    }

    /// Mocks and a gateway whose host passes requests on as Spin does.
    pub async fn start_spin_http(extra: &[(&str, &str)]) -> Self {
        Self::launch(
            Launch {
                http: HostHttp::Spin,
                ..Launch::standard(Store::Memory, Limits::default())
            },
            extra,
        )
        .await
    }

    /// Mocks and a gateway whose host holds clients to `limits`.
    pub async fn start_limited(extra: &[(&str, &str)], limits: Limits) -> Self {
        Self::launch(Launch::standard(Store::Memory, limits), extra).await
    }

    /// `launch`'s variables are the mocks' plus `extra` (which wins).
    async fn launch(launch: Launch, extra: &[(&str, &str)]) -> Self {
        let (primary, primary_script) = provider::start("primary", provider::SYNTHETIC_KEY).await;
        let (fallback, fallback_script) = provider::start("fallback", provider::ZAI_KEY).await;
        let (supabase, supabase_keys) = supabase::start().await;
        let origin = MockServer::start(Arc::new(origin_answer)).await;
        let mut variables = variables_for(&primary, &fallback, &supabase, &origin);
        for (name, value) in extra {
            variables.insert(name.to_string(), value.to_string());
        }
        let gateway = Gateway::launch(Launch {
            variables,
            ..launch
        })
        .await
        .expect("gateway starts; run `cargo xtask build` first if its component is missing");
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
