//! What operators see: each request's id and JSON log line (with its store
//! operations), and the per-provider counters behind the stats endpoint.

pub mod access_log;
pub mod provider_stats;
pub mod request_id;
pub mod store_use;
