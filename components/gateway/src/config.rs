//! The gateway's Spin variables.

use std::time::Duration;

use wws_guest::config;
use wws_guest::http::Timeouts;

pub const DEFAULT_PRIMARY_BASE_URL: &str = "https://api.synthetic.new/openai/v1";
pub const DEFAULT_FALLBACK_BASE_URL: &str = "https://api.z.ai/api/paas/v4";
/// Large enough for a 128K-token prompt with room to spare.
const DEFAULT_MAX_BODY_BYTES: u64 = 4 * 1024 * 1024;

/// An OpenAI-compatible provider as configured, if it has a key.
pub struct Provider {
    pub base_url: String,
    pub api_key: String,
}

pub fn provider(name: &str) -> Option<Provider> {
    let (url_var, default_url, key_var) = match name {
        "primary" => (
            "primary_base_url",
            DEFAULT_PRIMARY_BASE_URL,
            "synthetic_api_key",
        ),
        "fallback" => (
            "fallback_base_url",
            DEFAULT_FALLBACK_BASE_URL,
            "zai_api_key",
        ),
        _ => return None,
    };
    Some(Provider {
        base_url: config::get(url_var).unwrap_or_else(|| default_url.to_string()),
        api_key: config::get(key_var)?,
    })
}

pub fn origin_url() -> Option<String> {
    config::get("origin_url")
}

pub fn max_body_bytes() -> usize {
    config::get_u64("max_body_bytes", DEFAULT_MAX_BODY_BYTES) as usize
}

pub fn upstream_timeouts() -> Timeouts {
    let millis = |name, default| Duration::from_millis(config::get_u64(name, default));
    Timeouts {
        connect: millis("connect_timeout_ms", 5_000),
        first_byte: millis("first_byte_timeout_ms", 60_000),
        between_bytes: millis("between_bytes_timeout_ms", 30_000),
    }
}
