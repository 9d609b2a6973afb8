//! Enforcing a platform's quotas for one app (one [`crate::Server`]), and
//! counting every breach. Each breach writes one stderr line starting
//! [`BREACH_PREFIX`] that names the quota and never a key, value or path,
//! so a test or an operator can count them in a log as well as through
//! [`QuotaMeter::breaches`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::quotas::{Quota, Quotas};
use super::spec::{Platform, PlatformSpec};

/// How every breach line starts.
pub const BREACH_PREFIX: &str = "wws-host: platform quota exceeded:";

/// Which of the key-value rates an operation counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvAccess {
    Read,
    Write,
}

/// A refused operation: what the guest is told (its text says "quota", as
/// the platform's answer does) and what was counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{title} quota exceeded: {quota} (limit {limit})")]
pub struct QuotaExceeded {
    pub quota: Quota,
    title: &'static str,
    limit: String,
}

/// The current one-second window of key-value operations, app-wide.
#[derive(Debug, Default)]
struct KvWindow {
    /// Whole seconds since the meter started.
    second: u64,
    reads: u64,
    writes: u64,
}

pub struct QuotaMeter {
    spec: &'static PlatformSpec,
    started: Instant,
    kv: Mutex<KvWindow>,
    breaches: [AtomicU64; Quota::ALL.len()],
}

impl QuotaMeter {
    /// `None` when the platform enforces nothing: no state is metered then.
    pub fn for_platform(platform: Platform) -> Option<Arc<Self>> {
        let spec = platform.spec();
        spec.quotas.any().then(|| {
            Arc::new(Self {
                spec,
                started: Instant::now(),
                kv: Mutex::default(),
                breaches: Default::default(),
            })
        })
    }

    pub fn quotas(&self) -> &Quotas {
        &self.spec.quotas
    }

    /// Key and value sizes of one item of a key-value operation.
    pub fn check_sizes(&self, key: &str, value: Option<&[u8]>) -> Result<(), QuotaExceeded> {
        let quotas = self.quotas();
        if quotas.kv_key_bytes.is_some_and(|limit| key.len() > limit) {
            return Err(self.breach(Quota::KvKeySize));
        }
        if let (Some(limit), Some(value)) = (quotas.kv_value_bytes, value)
            && value.len() > limit
        {
            return Err(self.breach(Quota::KvValueSize));
        }
        Ok(())
    }

    /// Admits `count` key-value operations in this second, or refuses them
    /// all (a refused batch is not half done, and uses up nothing).
    pub fn admit(&self, access: KvAccess, count: u64) -> Result<(), QuotaExceeded> {
        self.admit_at(access, count, Instant::now())
    }

    fn admit_at(&self, access: KvAccess, count: u64, now: Instant) -> Result<(), QuotaExceeded> {
        let (limit, quota) = match access {
            KvAccess::Read => (self.quotas().kv_reads_per_second, Quota::KvReadsPerSecond),
            KvAccess::Write => (self.quotas().kv_writes_per_second, Quota::KvWritesPerSecond),
        };
        let Some(limit) = limit else {
            return Ok(());
        };
        let second = now.saturating_duration_since(self.started).as_secs();
        let admitted = {
            // Nothing panics while the lock is held, so a poisoned lock
            // still holds a consistent window.
            let mut window = self.kv.lock().unwrap_or_else(PoisonError::into_inner);
            if window.second != second {
                *window = KvWindow {
                    second,
                    ..KvWindow::default()
                };
            }
            let used = match access {
                KvAccess::Read => &mut window.reads,
                KvAccess::Write => &mut window.writes,
            };
            let after = used.saturating_add(count);
            let admitted = after <= u64::from(limit);
            if admitted {
                *used = after;
            }
            admitted
        };
        if admitted {
            Ok(())
        } else {
            Err(self.breach(quota))
        }
    }

    /// Counts a breach of `quota` and writes its one stderr line.
    pub fn breach(&self, quota: Quota) -> QuotaExceeded {
        if let Some(counter) = self.breaches.get(quota.index()) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let limit = self.quotas().limit(quota).unwrap_or_default();
        eprintln!(
            "{BREACH_PREFIX} {} ({}): {quota} (limit {limit})",
            self.spec.platform, self.spec.title
        );
        QuotaExceeded {
            quota,
            title: self.spec.title,
            limit,
        }
    }

    /// How often each quota was exceeded so far, the untouched ones left out.
    pub fn breaches(&self) -> Vec<(Quota, u64)> {
        Quota::ALL
            .iter()
            .zip(&self.breaches)
            .map(|(quota, count)| (*quota, count.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect()
    }
}

/// One request's handler-duration quota: the request is ended by the host's
/// own deadline (set to the quota), and the first deadline that fires at or
/// past the quota is counted once, however many of the host's timers see it.
#[derive(Clone)]
pub struct HandlerDeadline {
    meter: Arc<QuotaMeter>,
    limit: Duration,
    reported: Arc<AtomicBool>,
}

impl HandlerDeadline {
    pub fn new(meter: &Arc<QuotaMeter>) -> Option<Self> {
        Some(Self {
            limit: meter.quotas().handler_duration?,
            meter: meter.clone(),
            reported: Arc::default(),
        })
    }

    /// A deadline of `fired` ended the request; a shorter one is the
    /// operator's own limit, not the platform's.
    pub fn fired(&self, fired: Duration) {
        if fired >= self.limit && !self.reported.swap(true, Ordering::Relaxed) {
            self.meter.breach(Quota::HandlerDuration);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn akamai() -> Arc<QuotaMeter> {
        QuotaMeter::for_platform(Platform::Akamai).expect("akamai has quotas")
    }

    #[test]
    fn spin_meters_nothing() {
        assert!(QuotaMeter::for_platform(Platform::Spin).is_none());
    }

    #[test]
    fn writes_are_refused_past_the_limit_until_the_next_second() {
        let meter = akamai();
        let start = meter.started;
        let second = |n: u64| start + Duration::from_secs(n) + Duration::from_millis(n * 10);
        for _ in 0..50 {
            assert_eq!(meter.admit_at(KvAccess::Write, 1, second(0)), Ok(()));
        }
        let refused = meter.admit_at(KvAccess::Write, 1, second(0)).unwrap_err();
        assert_eq!(refused.quota, Quota::KvWritesPerSecond);
        assert!(refused.to_string().contains("quota"), "{refused}");
        // Reads have their own budget in the same second.
        assert_eq!(meter.admit_at(KvAccess::Read, 1_000, second(0)), Ok(()));
        assert!(meter.admit_at(KvAccess::Read, 1, second(0)).is_err());
        assert_eq!(meter.admit_at(KvAccess::Write, 50, second(1)), Ok(()));
        assert_eq!(
            meter.breaches(),
            vec![(Quota::KvReadsPerSecond, 1), (Quota::KvWritesPerSecond, 1)]
        );
    }

    #[test]
    fn a_batch_is_admitted_whole_or_not_at_all() {
        let meter = akamai();
        let now = meter.started;
        assert_eq!(meter.admit_at(KvAccess::Write, 40, now), Ok(()));
        assert!(meter.admit_at(KvAccess::Write, 11, now).is_err());
        // The refused batch used up nothing.
        assert_eq!(meter.admit_at(KvAccess::Write, 10, now), Ok(()));
    }

    #[test]
    fn sizes_are_checked_without_quoting_the_key() {
        let meter = akamai();
        let long_key = "k".repeat(8_001);
        let refused = meter.check_sizes(&long_key, None).unwrap_err();
        assert_eq!(refused.quota, Quota::KvKeySize);
        assert!(!refused.to_string().contains("kkk"), "{refused}");
        assert_eq!(meter.check_sizes(&"k".repeat(8_000), None), Ok(()));
        let value = vec![0; 1_000_001];
        assert_eq!(
            meter.check_sizes("key", Some(&value)).unwrap_err().quota,
            Quota::KvValueSize
        );
        assert_eq!(meter.check_sizes("key", Some(&value[1..])), Ok(()));
        let fermyon = QuotaMeter::for_platform(Platform::FermyonCloud).expect("quotas");
        assert!(fermyon.check_sizes(&"k".repeat(256), None).is_err());
        // Fermyon Cloud publishes no value limit.
        assert_eq!(fermyon.check_sizes("key", Some(&value)), Ok(()));
        // Nor key-value rates.
        assert_eq!(fermyon.admit(KvAccess::Write, 10_000), Ok(()));
    }

    #[test]
    fn a_handler_deadline_is_counted_once_and_only_at_the_quota() {
        let meter = akamai();
        let deadline = HandlerDeadline::new(&meter).expect("akamai has a handler quota");
        deadline.fired(Duration::from_secs(10));
        assert!(meter.breaches().is_empty(), "the operator's shorter limit");
        deadline.fired(Duration::from_secs(30));
        deadline.fired(Duration::from_secs(30));
        assert_eq!(meter.breaches(), vec![(Quota::HandlerDuration, 1)]);
    }
}
