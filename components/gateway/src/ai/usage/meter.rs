//! A token budget enforced while a stream passes. The request was admitted
//! with its estimate held; a provider that streams past the completion
//! bound it was sent would otherwise spend the principal's budget after the
//! fact. The meter counts the text as it goes by, and once the principal's
//! whole allowance (its hold plus what was left of the budget) is spent, the
//! stream ends cleanly there: a finish reason, an error event naming the
//! budget, and the stream's usual end.

use serde_json::{Value, json};

use crate::dialect::Dialect;

/// Characters per output token when counting a stream: real tokenisers
/// average about four for English and code, so the count errs toward
/// letting a stream run, never toward cutting it early.
const CHARS_PER_TOKEN: u64 = 4;

#[derive(Debug, Clone)]
pub struct Meter {
    /// Tokens the principal may spend on this request in all.
    allowance: u64,
    /// The prompt's share of them, as estimated at admission.
    prompt_tokens: u64,
    /// The budget that bounds it (`tokens-per-minute`, `tokens-per-day`).
    budget: String,
    chars: u64,
    exhausted: bool,
}

impl Meter {
    pub fn new(allowance: u64, prompt_tokens: u64, budget: String) -> Self {
        Self {
            allowance,
            prompt_tokens,
            budget,
            chars: 0,
            exhausted: false,
        }
    }

    /// Counts one event's text; true when it would overspend the allowance
    /// (the event is then not sent, nor anything after it).
    pub fn overspends(&mut self, dialect: Dialect, event: &Value) -> bool {
        if self.exhausted {
            return true;
        }
        let chars = text_chars(dialect, event);
        if self.tokens_for(self.chars + chars) > self.allowance {
            self.exhausted = true;
            return true;
        }
        self.chars += chars;
        false
    }

    /// The meter for a stream that continues this one elsewhere: the same
    /// allowance, with what was sent so far already counted.
    pub fn carried_on(&self) -> Self {
        Self {
            exhausted: false,
            ..self.clone()
        }
    }

    pub fn is_exhausted(&self) -> bool {
        self.exhausted
    }

    /// The tokens the delivered part of the stream cost, to settle.
    pub fn used(&self) -> u64 {
        self.tokens_for(self.chars).min(self.allowance)
    }

    fn tokens_for(&self, chars: u64) -> u64 {
        self.prompt_tokens
            .saturating_add(chars.div_ceil(CHARS_PER_TOKEN))
    }

    /// What ends a stream cut off here: the dialect's "stopped at the
    /// limit" finish, the error event naming the budget, and its end marker.
    pub fn ending(&self, dialect: Dialect) -> String {
        let message = format!(
            "the {} token budget ran out mid-stream; the answer was cut off after about {} tokens",
            self.budget,
            self.used()
        );
        match dialect {
            Dialect::OpenAi => {
                let finish = json!({
                    "object": "chat.completion.chunk",
                    "choices": [{ "index": 0, "delta": {}, "finish_reason": "length" }],
                });
                let error = json!({ "error": { "type": "tokens_exceeded", "message": message } });
                format!("data: {finish}\n\nevent: error\ndata: {error}\n\ndata: [DONE]\n\n")
            }
            Dialect::Anthropic => {
                let finish = json!({
                    "type": "message_delta",
                    "delta": { "stop_reason": "max_tokens", "stop_sequence": null },
                    "usage": { "output_tokens": self.used().saturating_sub(self.prompt_tokens) },
                });
                let error = json!({
                    "type": "error",
                    "error": { "type": "rate_limit_error", "message": message },
                });
                format!(
                    "event: message_delta\ndata: {finish}\n\nevent: error\ndata: {error}\n\n\
                     event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
                )
            }
        }
    }
}

/// The characters of answer text (and reasoning) an event carries.
fn text_chars(dialect: Dialect, event: &Value) -> u64 {
    let length = |value: Option<&Value>| value.and_then(Value::as_str).map_or(0, str::len) as u64;
    match dialect {
        Dialect::OpenAi => event
            .get("choices")
            .and_then(Value::as_array)
            .map_or(0, |choices| {
                choices
                    .iter()
                    .filter_map(|choice| choice.get("delta"))
                    .map(|delta| {
                        length(delta.get("content")) + length(delta.get("reasoning_content"))
                    })
                    .sum()
            }),
        Dialect::Anthropic => event.get("delta").map_or(0, |delta| {
            length(delta.get("text"))
                + length(delta.get("thinking"))
                + length(delta.get("partial_json"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str) -> Value {
        json!({ "choices": [{ "index": 0, "delta": { "content": text } }] })
    }

    #[test]
    fn a_stream_runs_until_its_allowance_is_spent_and_no_further() {
        // 10 prompt tokens, 5 left for the answer: 20 characters.
        let mut meter = Meter::new(15, 10, "tokens-per-minute".into());
        for _ in 0..5 {
            assert!(!meter.overspends(Dialect::OpenAi, &word("four")));
        }
        assert_eq!(meter.used(), 15);
        assert!(meter.overspends(Dialect::OpenAi, &word("x")));
        assert!(meter.is_exhausted());
        assert!(meter.overspends(Dialect::OpenAi, &word("")), "stays cut");
        assert_eq!(meter.used(), 15, "only what was sent is charged");
    }

    #[test]
    fn events_without_text_cost_nothing() {
        let mut meter = Meter::new(10, 10, "tokens-per-day".into());
        assert!(!meter.overspends(Dialect::OpenAi, &json!({ "choices": [], "usage": {} })));
        assert!(!meter.overspends(Dialect::Anthropic, &json!({ "type": "ping" })));
        assert!(meter.overspends(
            Dialect::Anthropic,
            &json!({ "type": "content_block_delta", "delta": { "type": "text_delta", "text": "hi" } })
        ));
    }

    #[test]
    fn the_ending_names_the_budget_in_each_dialect() {
        let meter = Meter::new(15, 10, "tokens-per-minute".into());
        let chat = meter.ending(Dialect::OpenAi);
        assert!(chat.contains(r#""finish_reason":"length""#), "{chat}");
        assert!(chat.contains("event: error\n") && chat.contains("tokens-per-minute"));
        assert!(chat.ends_with("data: [DONE]\n\n"));
        let messages = meter.ending(Dialect::Anthropic);
        assert!(
            messages.contains(r#""stop_reason":"max_tokens""#),
            "{messages}"
        );
        assert!(messages.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    }
}
