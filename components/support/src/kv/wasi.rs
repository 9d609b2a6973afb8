//! The default WASI store, opened once per instance: under Spin every
//! `open` blocks a host worker thread, and an instance serves one request.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::store::{AtomicKv, Kv, KvError};
use super::tally;
use crate::bindings::wasi::keyvalue::{atomics, batch, store};

thread_local! {
    static OPENED: RefCell<Option<Rc<store::Bucket>>> = const { RefCell::new(None) };
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
    bucket: Rc<store::Bucket>,
}

impl Store {
    /// Opens the `default` store, the one every Spin app gets; a failed
    /// open is tried again by the next caller.
    pub fn open_default() -> Result<Self, KvError> {
        if let Some(bucket) = OPENED.with_borrow(Clone::clone) {
            return Ok(Self { bucket });
        }
        let bucket = Rc::new(store::open("default")?);
        OPENED.set(Some(bucket.clone()));
        Ok(Self { bucket })
    }
}

impl Kv for Store {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        tally::kv_read();
        Ok(self.bucket.get(key)?)
    }

    /// One `get-many`.
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        tally::kv_read();
        Ok(in_order(keys, batch::get_many(&self.bucket, keys)?))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        tally::kv_write();
        Ok(self.bucket.set(key, value)?)
    }

    fn delete(&self, key: &str) -> Result<(), KvError> {
        tally::kv_write();
        Ok(self.bucket.delete(key)?)
    }

    /// Page by page.
    fn keys(&self) -> Result<Vec<String>, KvError> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            tally::kv_read();
            let page = self.bucket.list_keys(cursor.as_deref())?;
            keys.extend(page.keys);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }
}

/// `get-many`'s answer in the order of `keys`. Spin's SQLite store answers
/// only the keys it holds, in any order (wws-host also lists missing keys,
/// as none), so values are matched back by name and an absent key is none.
fn in_order(keys: &[String], found: Vec<(String, Option<Vec<u8>>)>) -> Vec<Option<Vec<u8>>> {
    let found: HashMap<String, Option<Vec<u8>>> = found.into_iter().collect();
    keys.iter()
        .map(|key| found.get(key).cloned().flatten())
        .collect()
}

impl AtomicKv for Store {
    fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        tally::kv_write();
        Ok(atomics::increment(&self.bucket, key, delta)?)
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, KvError> {
        tally::kv_read();
        tally::kv_write();
        let cas = atomics::Cas::new(&self.bucket, key)?;
        if cas.current()?.as_deref() != expected {
            return Ok(false);
        }
        match atomics::swap(cas, value) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(error)) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::in_order;

    #[test]
    fn batch_reads_come_back_in_the_order_asked_whatever_the_store_lists() {
        let keys = ["a".to_string(), "b".to_string(), "c".to_string()];
        let spin = vec![
            ("c".to_string(), Some(b"3".to_vec())),
            ("a".to_string(), Some(b"1".to_vec())),
        ];
        assert_eq!(
            in_order(&keys, spin),
            [Some(b"1".to_vec()), None, Some(b"3".to_vec())]
        );
        let listing_missing = vec![
            ("a".to_string(), None),
            ("b".to_string(), Some(b"2".to_vec())),
            ("c".to_string(), None),
        ];
        assert_eq!(
            in_order(&keys, listing_missing),
            [None, Some(b"2".to_vec()), None]
        );
        assert_eq!(in_order(&keys, Vec::new()), [None, None, None]);
    }
}
