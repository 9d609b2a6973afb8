//! A stored response with the moments it stops being fresh, stale-servable
//! and error-servable. Deadlines are absolute (Unix milliseconds, so a
//! one-second lifetime is a whole second) and every entry can carry its own
//! lifetimes (a `max-age` from the origin, a client's opt-in).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub stored_at: u64,
    pub fresh_until: u64,
    pub stale_until: u64,
    pub error_until: u64,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    stored_at: u64,
    fresh_until: u64,
    stale_until: u64,
    error_until: u64,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

pub fn encode(entry: &Entry) -> Vec<u8> {
    let stored = Stored {
        stored_at: entry.stored_at,
        fresh_until: entry.fresh_until,
        stale_until: entry.stale_until,
        error_until: entry.error_until,
        status: entry.status,
        headers: entry.headers.clone(),
        body: STANDARD.encode(&entry.body),
    };
    serde_json::to_vec(&stored).unwrap_or_default()
}

pub fn decode(bytes: &[u8]) -> Option<Entry> {
    let stored: Stored = serde_json::from_slice(bytes).ok()?;
    Some(Entry {
        stored_at: stored.stored_at,
        fresh_until: stored.fresh_until,
        stale_until: stored.stale_until,
        error_until: stored.error_until,
        status: stored.status,
        headers: stored.headers,
        body: STANDARD.decode(stored.body).ok()?,
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum State {
    Fresh,
    Stale,
    ErrorOnly,
}

impl Entry {
    /// How the entry may be served at `now`; `None` once it is of no use.
    pub fn state(&self, now: u64) -> Option<State> {
        if now < self.fresh_until {
            Some(State::Fresh)
        } else if now < self.stale_until {
            Some(State::Stale)
        } else if now < self.error_until {
            Some(State::ErrorOnly)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            stored_at: 100,
            fresh_until: 160,
            stale_until: 460,
            error_until: 760,
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: vec![0, 159, 255],
        }
    }

    #[test]
    fn fresh_then_stale_then_error_only_then_gone() {
        let entry = entry();
        assert_eq!(entry.state(100), Some(State::Fresh));
        assert_eq!(entry.state(159), Some(State::Fresh));
        assert_eq!(entry.state(160), Some(State::Stale));
        assert_eq!(entry.state(459), Some(State::Stale));
        assert_eq!(entry.state(460), Some(State::ErrorOnly));
        assert_eq!(entry.state(760), None);
    }

    #[test]
    fn entries_round_trip() {
        let entry = entry();
        assert_eq!(decode(&encode(&entry)), Some(entry));
        assert!(decode(b"not json").is_none());
    }
}
