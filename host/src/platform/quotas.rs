//! A platform's quotas as plain numbers, and the names of the ones enforced,
//! as messages and the breach summary print them.

use std::fmt;
use std::time::Duration;

/// `None` is "no such quota": the platform publishes none, or it is
/// wws-host's own limit that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Longest key-value key, in bytes (UTF-8).
    pub kv_key_bytes: Option<usize>,
    /// Largest key-value value, in bytes.
    pub kv_value_bytes: Option<usize>,
    /// Key-value reads (get, exists, list-keys, each key of get-many) per
    /// second, for the whole app.
    pub kv_reads_per_second: Option<u32>,
    /// Key-value writes (set, delete, increment, swap, each item of
    /// set-many and delete-many) per second, for the whole app.
    pub kv_writes_per_second: Option<u32>,
    /// Linear memory one execution (one request's instance, every core
    /// module of the composed component together) may hold.
    pub execution_memory_bytes: Option<usize>,
    /// How long one request's handler may run, streamed answer included.
    pub handler_duration: Option<Duration>,
    /// Largest request or response body. Published, not enforced yet.
    pub body_bytes: Option<u64>,
    /// Requests per second for the app. Published, not enforced yet.
    pub requests_per_second: Option<u32>,
}

impl Quotas {
    pub const NONE: Self = Self {
        kv_key_bytes: None,
        kv_value_bytes: None,
        kv_reads_per_second: None,
        kv_writes_per_second: None,
        execution_memory_bytes: None,
        handler_duration: None,
        body_bytes: None,
        requests_per_second: None,
    };

    /// Whether any quota is enforced at all (if not, nothing is metered).
    pub fn any(&self) -> bool {
        Quota::ALL.iter().any(|quota| self.limit(*quota).is_some())
    }

    /// The enforced quota's limit, as it is printed.
    pub fn limit(&self, quota: Quota) -> Option<String> {
        match quota {
            Quota::KvKeySize => self.kv_key_bytes.map(|n| format!("{n} bytes")),
            Quota::KvValueSize => self.kv_value_bytes.map(|n| format!("{n} bytes")),
            Quota::KvReadsPerSecond => self.kv_reads_per_second.map(|n| n.to_string()),
            Quota::KvWritesPerSecond => self.kv_writes_per_second.map(|n| n.to_string()),
            Quota::ExecutionMemory => self
                .execution_memory_bytes
                .map(|n| format!("{} MiB", n >> 20)),
            Quota::HandlerDuration => self.handler_duration.map(|d| format!("{d:?}")),
        }
    }
}

/// The quotas wws-host enforces, each counted when exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quota {
    KvKeySize,
    KvValueSize,
    KvReadsPerSecond,
    KvWritesPerSecond,
    ExecutionMemory,
    HandlerDuration,
}

impl Quota {
    pub const ALL: [Self; 6] = [
        Self::KvKeySize,
        Self::KvValueSize,
        Self::KvReadsPerSecond,
        Self::KvWritesPerSecond,
        Self::ExecutionMemory,
        Self::HandlerDuration,
    ];

    /// Position in [`Self::ALL`], for per-quota counters.
    pub(super) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::KvKeySize => "key-value key size",
            Self::KvValueSize => "key-value value size",
            Self::KvReadsPerSecond => "key-value reads per second",
            Self::KvWritesPerSecond => "key-value writes per second",
            Self::ExecutionMemory => "memory per execution",
            Self::HandlerDuration => "handler duration",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_the_list() {
        for (position, quota) in Quota::ALL.iter().enumerate() {
            assert_eq!(quota.index(), position);
        }
    }

    #[test]
    fn limits_print_in_their_units() {
        let quotas = Quotas {
            kv_key_bytes: Some(255),
            execution_memory_bytes: Some(128 << 20),
            handler_duration: Some(Duration::from_secs(30)),
            ..Quotas::NONE
        };
        assert!(quotas.any());
        assert_eq!(quotas.limit(Quota::KvKeySize).as_deref(), Some("255 bytes"));
        assert_eq!(
            quotas.limit(Quota::ExecutionMemory).as_deref(),
            Some("128 MiB")
        );
        assert_eq!(quotas.limit(Quota::HandlerDuration).as_deref(), Some("30s"));
        assert_eq!(quotas.limit(Quota::KvWritesPerSecond), None);
    }

    #[test]
    fn published_only_quotas_are_not_enforced() {
        let quotas = Quotas {
            body_bytes: Some(10 << 20),
            requests_per_second: Some(1_000),
            ..Quotas::NONE
        };
        assert!(!quotas.any());
    }
}
