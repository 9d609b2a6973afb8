//! Where each dialect reports token usage. A JSON completion carries
//! `usage` at the top level; a chat completion stream carries it in a final
//! chunk when the request asked for `stream_options.include_usage`; a
//! Messages API stream reports input tokens in `message_start` and the
//! output tokens so far in each `message_delta`.

use serde_json::Value;

/// Total tokens in a JSON answer body.
pub fn total_tokens(body: &[u8]) -> Option<u64> {
    let value: Value = serde_json::from_slice(body).ok()?;
    usage_total(&value)
}

/// A stream chunk that carries usage: its total and whether it also carries
/// choices (some providers put usage on the last content chunk).
pub fn usage_chunk(value: &Value) -> Option<(u64, bool)> {
    let total = usage_total(value)?;
    let has_choices = value
        .get("choices")
        .and_then(Value::as_array)
        .is_some_and(|choices| !choices.is_empty());
    Some((total, has_choices))
}

/// The total an answer's `usage` reports: `total_tokens`, else the sum of
/// its parts in OpenAI's (`prompt_tokens`) or Anthropic's (`input_tokens`)
/// naming.
fn usage_total(value: &Value) -> Option<u64> {
    let usage = value.get("usage")?;
    let part = |name| usage.get(name).and_then(Value::as_u64);
    // Saturating: a provider's absurd counts must charge the most, not wrap.
    let sum = |input, output| Some(part(input)?.saturating_add(part(output).unwrap_or(0)));
    part("total_tokens")
        .or_else(|| sum("prompt_tokens", "completion_tokens"))
        .or_else(|| sum("input_tokens", "output_tokens"))
}

/// The stream's total so far after a Messages API event: `message_start`
/// names the input tokens (kept in `input`), each `message_delta` the
/// output tokens so far (and, from some providers, the input again).
pub fn named_event_usage(event: &Value, input: &mut u64) -> Option<u64> {
    let usage = match event.get("type").and_then(Value::as_str)? {
        "message_start" => event.get("message")?.get("usage")?,
        "message_delta" => event.get("usage")?,
        _ => return None,
    };
    let part = |name| usage.get(name).and_then(Value::as_u64);
    if let Some(tokens) = part("input_tokens") {
        *input = tokens;
    }
    Some(input.saturating_add(part("output_tokens").unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_usage_counts_saturate() {
        let usage =
            serde_json::json!({ "usage": { "prompt_tokens": u64::MAX, "completion_tokens": 5 } });
        assert_eq!(usage_total(&usage), Some(u64::MAX));
    }

    #[test]
    fn reads_usage_from_either_dialects_answer() {
        let chat = br#"{"choices":[],"usage":{"prompt_tokens":40,"completion_tokens":2}}"#;
        assert_eq!(total_tokens(chat), Some(42));
        let message =
            br#"{"type":"message","content":[],"usage":{"input_tokens":40,"output_tokens":2}}"#;
        assert_eq!(total_tokens(message), Some(42));
        assert_eq!(total_tokens(b"not json"), None);
    }
}
