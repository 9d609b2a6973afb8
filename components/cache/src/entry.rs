//! A stored response and the windows that decide whether it may be served.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

pub struct Entry {
    pub stored_at: u64,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    stored_at: u64,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

pub fn encode(entry: &Entry) -> Vec<u8> {
    let stored = Stored {
        stored_at: entry.stored_at,
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
        status: stored.status,
        headers: stored.headers,
        body: STANDARD.decode(stored.body).ok()?,
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum State {
    Fresh,
    Stale,
}

pub struct Windows {
    pub fresh_secs: u64,
    pub stale_secs: u64,
}

impl Windows {
    /// `None` once an entry is older than the stale window.
    pub fn classify(&self, age_secs: u64) -> Option<State> {
        if age_secs < self.fresh_secs {
            Some(State::Fresh)
        } else if age_secs < self.stale_secs {
            Some(State::Stale)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_windows() {
        let windows = Windows {
            fresh_secs: 60,
            stale_secs: 300,
        };
        assert_eq!(windows.classify(0), Some(State::Fresh));
        assert_eq!(windows.classify(59), Some(State::Fresh));
        assert_eq!(windows.classify(60), Some(State::Stale));
        assert_eq!(windows.classify(299), Some(State::Stale));
        assert_eq!(windows.classify(300), None);
    }

    #[test]
    fn entries_round_trip() {
        let entry = Entry {
            stored_at: 7,
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: vec![0, 159, 255],
        };
        let decoded = decode(&encode(&entry)).unwrap();
        assert_eq!(decoded.body, entry.body);
        assert_eq!(decoded.headers, entry.headers);
        assert!(decode(b"not json").is_none());
    }
}
