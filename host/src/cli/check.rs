//! `wws-host check`: everything `up` would do short of serving, plus one
//! request through the component's own health check, so a deployment's
//! configuration (manifest, runtime config, variables, store connection)
//! is proven before traffic arrives. Exits non-zero on the first problem.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wws_host::platform::HostInterface;
use wws_host::{HostOptions, Server};

pub async fn run(options: &HostOptions) -> Result<()> {
    let server = Arc::new(Server::load(options).await?);
    println!("ok   manifest {}", options.manifest.display());
    println!("ok   variables resolved (required ones present)");
    println!(
        "ok   component {} compiled and linked for --platform {}",
        server.summary().component.display(),
        server.platform()
    );
    for (label, store) in &server.summary().stores {
        println!("ok   key-value store {label}: {store} opened");
    }
    let invalid = server.invalid_json_variables();
    for (name, error) in &invalid {
        println!("FAIL variable {name} is not valid JSON: {error}");
    }
    if !invalid.is_empty() {
        bail!("{} variable(s) hold invalid JSON", invalid.len());
    }

    let health = health_through_component(server.clone()).await?;
    let problems: Vec<&str> = health["config"]["problems"]
        .as_array()
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for problem in &problems {
        println!("FAIL setting {problem}");
    }
    if !problems.is_empty() {
        bail!(
            "{} setting(s) are set but unusable (the component reports them in /api/wws/health)",
            problems.len()
        );
    }
    let reachable = health["kv"]["reachable"] == true;
    let atomics = health["kv"]["atomics"] == true;
    // On a platform without key-value atomics the component cannot have
    // them; its counters live elsewhere (Redis), so only reaching the store
    // is required there.
    let atomics_needed = server.platform().provides(HostInterface::KeyValueAtomics);
    if !reachable || (atomics_needed && !atomics) {
        println!("FAIL key-value store: reachable {reachable}, atomics {atomics}");
        bail!("the component cannot use its key-value store; see the host's log above");
    }
    if atomics_needed {
        println!("ok   key-value store answers, atomics included (via /api/wws/health)");
    } else {
        println!(
            "ok   key-value store answers (via /api/wws/health); {} has no key-value atomics",
            server.platform().spec().title
        );
    }
    if let Some(summary) = super::platform::breach_summary(&server) {
        println!("FAIL {summary}");
        bail!("the health check alone exceeded the platform's quotas");
    }
    for provider in ["primary", "fallback"] {
        let configured = health["providers"][provider] == true;
        println!(
            "{:<4} provider {provider} {}",
            if configured { "ok" } else { "note" },
            if configured {
                "configured"
            } else {
                "has no key: skipped"
            }
        );
    }
    let redirecting = provider_redirects(&server, &health).await;
    if redirecting > 0 {
        bail!("{redirecting} provider base URL(s) redirect");
    }
    if health["origin"] != true {
        println!("note origin_url not set: non-AI paths answer 503");
    }
    println!("Configuration OK");
    Ok(())
}

/// The URL and path variables of each provider, as `spin.toml` names them.
const PROVIDER_VARIABLES: [(&str, &str, &str); 2] = [
    ("primary", "primary_url", "primary_openai_path"),
    ("fallback", "fallback_url", "fallback_openai_path"),
];

/// Asks each configured provider's `/models` once, without its key: the
/// gateway never follows a provider's redirect, so a base URL that
/// redirects would fail every call. Returns how many redirect; an upstream
/// this machine cannot reach is noted, not failed (check may run offline).
async fn provider_redirects(server: &Server, health: &Value) -> usize {
    let mut redirecting = 0;
    for (provider, url_variable, path_variable) in PROVIDER_VARIABLES {
        if health["providers"][provider] != true {
            continue;
        }
        let (Some(url), Some(path)) = (
            server.variable(url_variable),
            server.variable(path_variable),
        ) else {
            continue;
        };
        let base = format!("{}{}", url.trim().trim_end_matches('/'), path.trim());
        match wws_host::redirect_of(&format!("{base}/models")).await {
            Ok(None) => println!("ok   provider {provider} answers at {base} without redirecting"),
            Ok(Some(redirect)) => {
                redirecting += 1;
                let to = redirect.location_origin.map_or_else(
                    || "no absolute Location".to_string(),
                    |to| format!("to {to}"),
                );
                println!(
                    "FAIL provider {provider}: base URL {base} redirects ({}, {to}); \
                     set {url_variable} and {path_variable} to where its API answers",
                    redirect.status
                );
            }
            Err(error) => {
                println!(
                    "note provider {provider} at {base} not reachable from here ({error}): not checked"
                )
            }
        }
    }
    redirecting
}

/// Serves on an ephemeral loopback port just long enough for one request.
async fn health_through_component(server: Arc<Server>) -> Result<Value> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    let response = get(&address.to_string(), "/api/wws/health").await;
    let _ = stop.send(());
    let _ = serving.await;
    let response = response?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .context("health check answered without a body")?;
    serde_json::from_str(body).with_context(|| format!("health check answered {response:?}"))
}

async fn get(authority: &str, path: &str) -> Result<String> {
    let mut stream = TcpStream::connect(authority).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}
