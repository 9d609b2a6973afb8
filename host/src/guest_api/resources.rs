//! The resources guests hold through `wasi:keyvalue` and
//! `fermyon:spin/redis`: what the host keeps behind each handle.

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

/// An open `fermyon:spin/redis` connection: one multiplexed connection per
/// `open`, as Spin keeps, cloned (cheaply) for each command so a command in
/// flight holds no borrow of the request's state.
pub struct RedisConnection {
    pub(super) connection: redis::aio::MultiplexedConnection,
}
