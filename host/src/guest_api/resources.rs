//! The resources guests hold through `wasi:keyvalue`: what the host keeps
//! behind each handle.

use crate::kv::KvStore;

/// An opened bucket: the store it names.
pub struct KvBucket {
    pub(super) store: KvStore,
}

/// A compare-and-swap in progress: the value seen when it began.
pub struct KvCas {
    pub(super) store: KvStore,
    pub(super) key: String,
    pub(super) current: Option<Vec<u8>>,
}
