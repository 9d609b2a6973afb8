//! What a store operation can fail with, whichever store it is.

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("value of {0:?} is not a counter")]
    NotACounter(String),
    #[error("store lock poisoned")]
    Poisoned,
    #[cfg(feature = "fault-injection")]
    #[error("injected fault (test mode)")]
    Injected,
}

/// Counters in SQLite and memory are 8-byte little-endian, as in Spin.
pub fn decode_counter(key: &str, bytes: &[u8]) -> Result<i64, KvError> {
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| KvError::NotACounter(key.to_string()))?;
    Ok(i64::from_le_bytes(bytes))
}
