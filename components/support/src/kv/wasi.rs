//! The default WASI store, opened once per instance: under Spin every
//! `open` blocks a host worker thread, and an instance serves one request.

use std::cell::RefCell;
use std::rc::Rc;

use super::store::{AtomicKv, Kv, KvError};
use super::tally;
use crate::bindings::wasi::keyvalue::{atomics, store};

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
