//! The default key-value store, opened once per call site.
//!
//! Spin KV has no expiry: callers store their own deadlines inside values.
//! Counters are touched only through [`Store::increment`], because Spin's
//! SQLite and Redis stores encode them differently.

use crate::bindings::wasi::keyvalue::{atomics, store};

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("key-value store unavailable: {0}")]
    Store(String),
}

impl From<store::Error> for KvError {
    fn from(error: store::Error) -> Self {
        KvError::Store(match error {
            store::Error::NoSuchStore => "no such store".to_string(),
            store::Error::AccessDenied => "access denied".to_string(),
            store::Error::Other(message) => message,
        })
    }
}

pub struct Store {
    bucket: store::Bucket,
}

impl Store {
    /// Opens the `default` store, the one every Spin app gets.
    pub fn open_default() -> Result<Self, KvError> {
        Ok(Self {
            bucket: store::open("default")?,
        })
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.bucket.get(key)?)
    }

    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        Ok(self.bucket.set(key, value)?)
    }

    pub fn delete(&self, key: &str) -> Result<(), KvError> {
        Ok(self.bucket.delete(key)?)
    }

    /// Every key in the store, page by page.
    pub fn keys(&self) -> Result<Vec<String>, KvError> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.bucket.list_keys(cursor.as_deref())?;
            keys.extend(page.keys);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    /// Compare-and-swap: writes `update(current)` only if nobody changed the
    /// key in between; `update` returning `None` leaves the key alone. Retries
    /// a few times under contention, then reports `Ok(false)`.
    pub fn swap_if(
        &self,
        key: &str,
        mut update: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<bool, KvError> {
        const ATTEMPTS: usize = 4;
        for _ in 0..ATTEMPTS {
            let cas = atomics::Cas::new(&self.bucket, key)?;
            let current = cas.current()?;
            let Some(value) = update(current.as_deref()) else {
                return Ok(false);
            };
            match atomics::swap(cas, &value) {
                Ok(()) => return Ok(true),
                Err(atomics::CasError::CasFailed(_)) => continue,
                Err(atomics::CasError::StoreError(error)) => return Err(error.into()),
            }
        }
        Ok(false)
    }

    /// Atomically adds `delta`; a missing key counts as zero.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        Ok(atomics::increment(&self.bucket, key, delta)?)
    }

    /// Claims `{prefix}:{period}` for the caller: true for exactly one caller
    /// across every instance sharing the store (the one whose increment made
    /// it 1). The marker of two periods back can no longer be claimed and is
    /// deleted, so markers stay bounded. For once-a-period chores such as
    /// sweeping expired entries.
    pub fn claim_period(&self, prefix: &str, period: u64) -> Result<bool, KvError> {
        if self.increment(&format!("{prefix}:{period}"), 1)? != 1 {
            return Ok(false);
        }
        let _ = self.delete(&format!("{prefix}:{}", period.saturating_sub(2)));
        Ok(true)
    }
}
