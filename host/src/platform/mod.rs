//! The platforms wws-host can stand in for (`--platform`): plain Spin, and
//! the managed edges that run Spin apps with fewer interfaces and published
//! quotas. A component tested here under `akamai` or `fermyon-cloud` finds
//! out before deploying that it imports something the platform lacks, or
//! that its traffic would run into the platform's limits.
//!
//! What each platform provides and allows is plain data ([`PlatformSpec`]);
//! enforcing it is [`QuotaMeter`]'s, [`ExecutionMemory`]'s and the server's.

mod memory;
mod meter;
mod quotas;
mod spec;

pub use memory::ExecutionMemory;
pub use meter::{BREACH_PREFIX, HandlerDeadline, KvAccess, QuotaExceeded, QuotaMeter};
pub use quotas::{Quota, Quotas};
pub use spec::{HostInterface, Platform, PlatformSpec};
