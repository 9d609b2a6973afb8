//! Refused credentials, counted per client address and minute. Every token
//! nobody has seen costs a call to Supabase, and Supabase limits calls per
//! IP address (the gateway's own): a client making up tokens would spend
//! that allowance for every user, so past the limit its unknown tokens are
//! refused here, before Supabase is asked. Tokens already known (cached
//! sessions, locally verified JWTs, API keys) are never affected.

use wws_guest::kv::Counters;

const PREFIX: &str = "auth:refused:";
const WINDOW_SECS: u64 = 60;

/// Seconds until the client may try again, if it is over `limit`.
pub fn throttled(counters: &impl Counters, client_ip: &str, limit: u64, now: u64) -> Option<u64> {
    if limit == 0 {
        return None;
    }
    let count = counters
        .counter(&key(client_ip, now / WINDOW_SECS))
        .unwrap_or(0);
    (count >= limit as i64).then(|| WINDOW_SECS - now % WINDOW_SECS)
}

/// Counts one refusal for `client_ip`; where the counters do not forget,
/// the window two back is removed, so an address keeps at most two.
pub fn record(counters: &impl Counters, client_ip: &str, now: u64) {
    let window = now / WINDOW_SECS;
    let ttl_secs = (2 * WINDOW_SECS) as u32;
    if let Err(error) = counters.add(&key(client_ip, window), 1, ttl_secs) {
        eprintln!("auth: refusal not counted: {error}");
        return;
    }
    if !counters.forgets() {
        let _ = counters.remove(&[key(client_ip, window.saturating_sub(2))]);
    }
}

/// Whether `key` is a refusal counter of a window before the last one.
pub fn is_dead(key: &str, now: u64) -> Option<bool> {
    let rest = key.strip_prefix(PREFIX)?;
    let (_, window) = rest.rsplit_once(':')?;
    let window: u64 = window.parse().ok()?;
    Some(window + 1 < now / WINDOW_SECS)
}

pub fn is_counter(key: &str) -> bool {
    key.starts_with(PREFIX)
}

fn key(client_ip: &str, window: u64) -> String {
    format!("{PREFIX}{client_ip}:{window}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_die_once_their_window_and_the_next_are_over() {
        let now = 10 * WINDOW_SECS + 5;
        assert_eq!(is_dead(&key("192.0.2.1", 10), now), Some(false));
        assert_eq!(is_dead(&key("192.0.2.1", 9), now), Some(false));
        assert_eq!(is_dead(&key("192.0.2.1", 8), now), Some(true));
        assert_eq!(is_dead(&key("2001:db8::1", 8), now), Some(true));
        assert_eq!(is_dead("auth:session:abc", now), None);
    }
}
