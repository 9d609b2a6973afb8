//! Spin's key-value store as the components use it: the [`Kv`] operations,
//! served by the WASI store in a component and by [`MemoryKv`] in native
//! unit tests.

#[cfg(any(test, feature = "memory"))]
mod memory;
mod store;
mod wasi;

#[cfg(any(test, feature = "memory"))]
pub use memory::MemoryKv;
pub use store::{Kv, KvError, decode_counter};
pub use wasi::Store;
