//! The start-up banner: where WWS listens, what it is connected to and
//! which routes it serves, so a misconfiguration shows before the first
//! request. Secrets appear only as "key set" or "no key".

use std::fmt::Write;

use wws_host::summary::{Shown, Summary};

const ROUTES: [(&str, &str, &str); 8] = [
    (
        "GET",
        "/api/wws/health",
        "public: upstreams configured, store reachable",
    ),
    (
        "POST",
        "/v1/chat/completions",
        "OpenAI-compatible; stream: true for SSE",
    ),
    ("GET", "/v1/models", "the routing catalogue"),
    ("POST", "/api/ai/chat", "{messages, context}"),
    ("POST", "/api/ai/generate", "{prompt, system?}"),
    ("GET", "/api/wws/stats", "admin: per-provider counts"),
    (
        "POST",
        "/api/wws/cache/purge",
        "admin: {\"route\"} or {\"prefix\"}",
    ),
    ("*", "/...", "everything else, passed to origin_url"),
];

pub fn render(summary: &Summary, url: &str) -> String {
    let mut text = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(text, "  {label:<10} {value}");
    };
    line("component", summary.component.display().to_string());
    for (label, store) in &summary.stores {
        line("key-value", format!("{label}: {store}"));
    }
    for (name, url_var, path_var, key_var) in [
        (
            "primary",
            "primary_url",
            "primary_openai_path",
            "synthetic_api_key",
        ),
        (
            "fallback",
            "fallback_url",
            "fallback_openai_path",
            "zai_api_key",
        ),
    ] {
        let key = if is_set(summary, key_var) {
            "key set"
        } else {
            "no key: skipped"
        };
        let shown = if is_set(summary, url_var) {
            format!(
                "{}{} ({key})",
                value(summary, url_var),
                value(summary, path_var)
            )
        } else {
            format!("{url_var} not set: skipped")
        };
        line(
            if name == "primary" { "providers" } else { "" },
            format!("{name:<9} {shown}"),
        );
    }
    line(
        "auth",
        match (is_set(summary, "supabase_url"), is_set(summary, "api_keys")) {
            (true, _) => format!("Supabase {}", value(summary, "supabase_url")),
            (false, true) => "API keys only (supabase_url not set)".to_string(),
            (false, false) => "nothing configured: only public routes answer".to_string(),
        },
    );
    line(
        "origin",
        if is_set(summary, "origin_url") {
            value(summary, "origin_url")
        } else {
            "not configured: other paths answer 503".to_string()
        },
    );
    for (index, (method, path, what)) in ROUTES.iter().enumerate() {
        line(
            if index == 0 { "routes" } else { "" },
            format!("{method:<5}{:<45}{what}", format!("{url}{path}")),
        );
    }
    text
}

/// Set to something other than the manifest's "none" (`http://self`).
fn is_set(summary: &Summary, name: &str) -> bool {
    summary.variable(name).is_some_and(|shown| {
        shown.is_set() && !matches!(shown, Shown::Value(v) if v.ends_with("://self"))
    })
}

fn value(summary: &Summary, name: &str) -> String {
    match summary.variable(name) {
        Some(Shown::Value(value)) => value.clone(),
        Some(Shown::Secret { .. }) => "(secret)".to_string(),
        None => "(not declared)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn summary(variables: &[(&str, Shown)]) -> Summary {
        Summary {
            component: "target/wws.wasm".into(),
            stores: vec![("default".into(), "SQLite .spin/sqlite_key_value.db".into())],
            variables: variables
                .iter()
                .map(|(name, shown)| (name.to_string(), shown.clone()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn names_upstreams_and_routes_without_secrets() {
        let text = render(
            &summary(&[
                ("primary_url", Shown::Value("https://p.example".into())),
                ("primary_openai_path", Shown::Value("/v1".into())),
                ("synthetic_api_key", Shown::Secret { set: true }),
                ("fallback_url", Shown::Value("https://f.example".into())),
                ("fallback_openai_path", Shown::Value("/v4".into())),
                ("zai_api_key", Shown::Secret { set: false }),
                ("origin_url", Shown::Value("http://self".into())),
            ]),
            "http://127.0.0.1:3000",
        );
        assert!(text.contains("https://p.example/v1 (key set)"), "{text}");
        assert!(
            text.contains("https://f.example/v4 (no key: skipped)"),
            "{text}"
        );
        assert!(
            text.contains("not configured: other paths answer 503"),
            "{text}"
        );
        assert!(
            text.contains("http://127.0.0.1:3000/v1/chat/completions"),
            "{text}"
        );
        assert!(text.contains("SQLite .spin/sqlite_key_value.db"), "{text}");
    }
}
