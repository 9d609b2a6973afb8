//! Key-value stores with Spin's semantics, behind one type the WIT host
//! implementation uses: SQLite (Spin's default, file-compatible), Redis (for
//! several hosts sharing state) and memory (tests).

mod error;
#[cfg(feature = "fault-injection")]
mod faults;
mod memory;
mod redis_store;
mod sqlite;
mod store;

pub use error::KvError;
#[cfg(feature = "fault-injection")]
pub use faults::KvFaults;
pub use memory::MemoryStore;
pub use redis_store::RedisStore;
pub use sqlite::{Costs as SqliteCosts, SqliteStore};
pub use store::KvStore;
