//! What to do with a provider's answer: pass it on, ask the same provider
//! again, move on to the next target, or re-route to a long-context model.
//!
//! Pure, so every failure mode the providers document is unit-tested here.
//! z.ai puts the reason for a 429 in `error.code`: 1302 (rate limit), 1305
//! (overloaded) and 1113 (balance exhausted) all mean "fail over, do not
//! retry"; 1113 will not heal on its own, so it opens the circuit at once.

use std::time::Duration;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Hand the answer to the client as it is.
    Deliver,
    /// Ask the same target once more after `after`, as its `Retry-After` asks.
    RetrySame { after: Duration },
    /// Try the next target; `open_circuit` when the provider cannot recover soon.
    FailOver { reason: String, open_circuit: bool },
    /// The prompt is too long for this model.
    LongContext,
}

const ZAI_RATE_LIMITED: &str = "1302";
const ZAI_OVERLOADED: &str = "1305";
const ZAI_BALANCE_EXHAUSTED: &str = "1113";
/// z.ai's "prompt exceeds max length".
const ZAI_PROMPT_TOO_LONG: &str = "1261";

/// Phrases providers use for a prompt over the model's context window.
const CONTEXT_LENGTH_PHRASES: [&str; 6] = [
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "prompt is too long",
    "exceeds max length",
];

/// Decides on a non-success answer (not 2xx) from its status, its
/// `Retry-After` header and its body. `max_wait` is the longest
/// `Retry-After` worth waiting for rather than failing over.
pub fn classify(status: u16, retry_after: Option<&str>, body: &[u8], max_wait: Duration) -> Next {
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| value.get("error").cloned());
    let code = error.as_ref().and_then(error_code);
    let wait = retry_after
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .filter(|wait| *wait <= max_wait);
    match status {
        429 => match code.as_deref() {
            Some(ZAI_BALANCE_EXHAUSTED) => fail_over("balance exhausted (1113)", true),
            Some(ZAI_RATE_LIMITED) => fail_over("rate limited (1302)", false),
            Some(ZAI_OVERLOADED) => fail_over("overloaded (1305)", false),
            _ => match wait {
                Some(after) => Next::RetrySame { after },
                None => fail_over("answered 429", false),
            },
        },
        500..=599 => match (status, wait) {
            (503, Some(after)) => Next::RetrySame { after },
            _ => fail_over(&format!("answered {status}"), false),
        },
        // A redirect is never followed: the gateway sends prompts and keys
        // only where its configuration says, so it is the provider failing.
        300..=399 => fail_over(
            &format!("redirected ({status}); its base URL must answer without a redirect"),
            false,
        ),
        // The provider refused the gateway's own key: the gateway's problem,
        // never passed to the client as if the client's token were bad.
        401 | 403 => fail_over(&format!("refused the gateway's API key ({status})"), false),
        400 | 413 | 422 if is_context_length(code.as_deref(), body) => Next::LongContext,
        _ => Next::Deliver,
    }
}

fn fail_over(reason: &str, open_circuit: bool) -> Next {
    Next::FailOver {
        reason: reason.to_string(),
        open_circuit,
    }
}

/// `error.code` as text, whether the provider sends it as a string or a number.
fn error_code(error: &Value) -> Option<String> {
    match error.get("code")? {
        Value::String(code) => Some(code.clone()),
        Value::Number(code) => Some(code.to_string()),
        _ => None,
    }
}

fn is_context_length(code: Option<&str>, body: &[u8]) -> bool {
    if code == Some(ZAI_PROMPT_TOO_LONG) {
        return true;
    }
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    CONTEXT_LENGTH_PHRASES
        .iter()
        .any(|phrase| text.contains(phrase))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(2);

    fn zai(code: &str) -> Vec<u8> {
        format!(r#"{{"error":{{"code":"{code}","message":"x"}}}}"#).into_bytes()
    }

    #[test]
    fn zai_429_codes_fail_over_without_retrying() {
        for code in ["1302", "1305"] {
            assert!(matches!(
                classify(429, Some("1"), &zai(code), WAIT),
                Next::FailOver {
                    open_circuit: false,
                    ..
                }
            ));
        }
        assert!(matches!(
            classify(429, None, &zai("1113"), WAIT),
            Next::FailOver {
                open_circuit: true,
                ..
            }
        ));
        let numeric = br#"{"error":{"code":1302}}"#;
        assert!(matches!(
            classify(429, Some("1"), numeric, WAIT),
            Next::FailOver { .. }
        ));
    }

    #[test]
    fn a_short_retry_after_is_honoured_on_the_same_target() {
        assert_eq!(
            classify(429, Some("1"), b"{}", WAIT),
            Next::RetrySame {
                after: Duration::from_secs(1)
            }
        );
        assert_eq!(
            classify(503, Some(" 2 "), b"", WAIT),
            Next::RetrySame {
                after: Duration::from_secs(2)
            }
        );
        assert!(matches!(
            classify(429, Some("30"), b"{}", WAIT),
            Next::FailOver { .. }
        ));
        assert!(matches!(
            classify(429, Some("Wed, 21 Oct 2026 07:28:00 GMT"), b"{}", WAIT),
            Next::FailOver { .. }
        ));
    }

    #[test]
    fn server_errors_fail_over() {
        for status in [500, 502, 503, 504] {
            assert!(matches!(
                classify(status, None, b"oops", WAIT),
                Next::FailOver { .. }
            ));
        }
    }

    #[test]
    fn context_length_errors_re_route() {
        let openai = br#"{"error":{"code":"context_length_exceeded","message":"This model's maximum context length is 128000 tokens"}}"#;
        assert_eq!(classify(400, None, openai, WAIT), Next::LongContext);
        assert_eq!(classify(400, None, &zai("1261"), WAIT), Next::LongContext);
    }

    #[test]
    fn other_client_errors_go_back_unchanged() {
        for status in [400, 404, 422] {
            assert_eq!(
                classify(
                    status,
                    None,
                    br#"{"error":{"message":"bad temperature"}}"#,
                    WAIT
                ),
                Next::Deliver
            );
        }
    }

    #[test]
    fn redirects_and_refused_provider_keys_fail_over() {
        for status in [301, 302, 307, 308, 401, 403] {
            assert!(
                matches!(
                    classify(status, None, b"{\"error\":\"bad key sk-123\"}", WAIT),
                    Next::FailOver {
                        open_circuit: false,
                        ..
                    }
                ),
                "{status}"
            );
        }
        assert_eq!(classify(404, None, b"{}", WAIT), Next::Deliver);
    }
}
