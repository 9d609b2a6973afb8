//! Spin's key-value store and the shared counters, as the components use
//! them: the [`Kv`] operations, served by the WASI store in a component and
//! by [`MemoryKv`] in native unit tests, and the [`Counters`] contract,
//! served by the plugged-in counters in a component and by
//! [`CountersOnKv`] over `MemoryKv` in tests.

mod counters;
mod export;
#[cfg(any(test, feature = "memory"))]
mod memory;
mod on_kv;
mod shared;
mod store;
mod tally;
mod wasi;

pub use counters::{Addition, Counters};
#[cfg(any(test, feature = "memory"))]
pub use memory::MemoryKv;
pub use on_kv::CountersOnKv;
pub use shared::SharedCounters;
pub use store::{AtomicKv, Kv, KvError, decode_counter};
pub use tally::{Operations, operations};
pub use wasi::Store;
