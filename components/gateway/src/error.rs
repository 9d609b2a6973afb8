//! Client-facing errors in the OpenAI shape: `{"error": {"type", "message"}}`.

use serde_json::json;
use wws_guest::http::HttpError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
    pub headers: Vec<(String, String)>,
}

impl ApiError {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request_error", message)
    }

    /// The host refused an outgoing request: `variable` names the setting
    /// that `allowed_outbound_hosts` is built from, so the fix is in the message.
    pub fn upstream_not_allowed(variable: &str) -> Self {
        Self::new(
            502,
            "upstream_not_allowed",
            format!(
                "the host refused the outgoing request: set {variable} to the upstream's \
                 scheme://host[:port] (allowed_outbound_hosts is built from it)"
            ),
        )
    }

    pub fn body(&self) -> Vec<u8> {
        json!({ "error": { "type": self.kind, "message": self.message } })
            .to_string()
            .into_bytes()
    }
}

/// A failed upstream call as the client sees it: 504 on a timeout, 502
/// otherwise.
pub fn upstream_error(error: &HttpError) -> ApiError {
    match error {
        HttpError::Timeout => ApiError::new(504, "upstream_timeout", "upstream timed out"),
        HttpError::Denied => ApiError::upstream_not_allowed("origin_url"),
        other => ApiError::new(502, "upstream_error", other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_openai_error_shape() {
        let body = ApiError::bad_request("no \"messages\"").body();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["error"]["type"], "invalid_request_error");
        assert_eq!(value["error"]["message"], "no \"messages\"");
    }
}
