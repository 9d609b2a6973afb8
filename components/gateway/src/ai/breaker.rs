//! A circuit breaker per provider, shared by every instance through KV.
//!
//! Closed: calls go through, failures are counted per window
//! (`breaker_window_secs`). At `breaker_failures` failures in one window the
//! circuit opens for `breaker_cooldown_secs`: the provider is skipped. Then it
//! is half-open: one request per lease period (claimed in the shared
//! counters, so a crashed probe cannot hold it forever) probes the provider;
//! success closes the circuit, failure opens it again.
//!
//! A failure that may be the caller's own doing (a timeout: a huge prompt is
//! slow everywhere) counts once per caller and window, so one tenant's slow
//! prompts cannot open a provider's circuit for everyone; failures that can
//! only be the provider's (refused connections, 5xx, broken answers) count
//! every time.
//!
//! Cost on the happy path: one KV read per provider tried. The open record
//! is the one KV write, when a circuit opens or closes; failures and probe
//! leases are shared counters (Redis on the edge build, where KV writes are
//! scarce).

use wws_guest::kv::{Counters, Kv, SharedCounters, Store};
use wws_guest::{config, time};

/// Whose failure a failed call may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame<'a> {
    /// Only the provider can cause it.
    Provider,
    /// The caller (a principal id) may have caused it.
    Ambiguous { caller: &'a str },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Closed,
    /// This request is the half-open probe; `lease` is the key it claimed.
    Probe {
        lease: String,
    },
    /// Open: skip the provider; it may be probed again in this many seconds.
    Skip {
        retry_in_secs: u64,
    },
}

struct Settings {
    failures: i64,
    window_millis: u64,
    cooldown_millis: u64,
}

fn settings() -> Settings {
    Settings {
        failures: config::get_u64("breaker_failures", 5).max(1) as i64,
        window_millis: config::get_u64("breaker_window_secs", 30).max(1) * 1000,
        cooldown_millis: config::get_u64("breaker_cooldown_secs", 30).max(1) * 1000,
    }
}

impl Settings {
    /// A failure counter is read only in its own window.
    fn counter_ttl_secs(&self) -> u32 {
        (self.window_millis / 1000).saturating_mul(2).max(1) as u32
    }
}

fn open_key(provider: &str) -> String {
    format!("cb:{provider}:open")
}

/// Whether `provider` may be called now. Without a store, always.
pub fn admit(provider: &str) -> Admission {
    match Store::open_default() {
        Ok(store) => admit_at(
            &store,
            &SharedCounters,
            provider,
            &settings(),
            time::now_millis(),
        ),
        Err(_) => Admission::Closed,
    }
}

pub fn record_success(provider: &str, admission: &Admission) {
    if let Ok(store) = Store::open_default() {
        success_at(&store, &SharedCounters, provider, admission);
    }
}

/// Counts a failure; `open_now` opens the circuit whatever the count.
pub fn record_failure(provider: &str, admission: &Admission, open_now: bool, blame: Blame<'_>) {
    if let Ok(store) = Store::open_default() {
        let failure = Failure { open_now, blame };
        failure_at(
            &store,
            &SharedCounters,
            provider,
            admission,
            failure,
            &settings(),
            time::now_millis(),
        );
    }
}

/// One failed call, as [`record_failure`] was told it.
struct Failure<'a> {
    open_now: bool,
    blame: Blame<'a>,
}

fn admit_at(
    store: &impl Kv,
    counters: &impl Counters,
    provider: &str,
    settings: &Settings,
    now: u64,
) -> Admission {
    let open_until = match store.get(&open_key(provider)) {
        Ok(Some(value)) => parse_millis(&value),
        _ => None,
    };
    let Some(open_until) = open_until else {
        return Admission::Closed;
    };
    if now < open_until {
        return Admission::Skip {
            retry_in_secs: (open_until - now).div_ceil(1000),
        };
    }
    // Half-open: one probe per lease period; the lease is one cooldown long.
    let lease = (now - open_until) / settings.cooldown_millis;
    let probe_key = format!("cb:{provider}:probe:{open_until}:{lease}");
    let lease_secs = (settings.cooldown_millis / 1000).max(1) as u32;
    match counters.claim(&probe_key, lease_secs.saturating_mul(2)) {
        Ok(true) => Admission::Probe { lease: probe_key },
        Ok(false) => Admission::Skip { retry_in_secs: 1 },
        Err(_) => Admission::Closed,
    }
}

fn success_at(store: &impl Kv, counters: &impl Counters, provider: &str, admission: &Admission) {
    let Admission::Probe { lease } = admission else {
        return;
    };
    let _ = store.delete(&open_key(provider));
    let _ = counters.remove(std::slice::from_ref(lease));
    eprintln!("gateway: circuit for {provider} closed after a successful probe");
}

fn failure_at(
    store: &impl Kv,
    counters: &impl Counters,
    provider: &str,
    admission: &Admission,
    failure: Failure<'_>,
    settings: &Settings,
    now: u64,
) {
    let window = now / settings.window_millis;
    if let Blame::Ambiguous { caller } = failure.blame
        && !matches!(admission, Admission::Probe { .. })
        && !first_for_caller(counters, provider, caller, window, settings)
    {
        return;
    }
    let count_key = format!("cb:{provider}:failures:{window}");
    let failures = match counters.add(&count_key, 1, settings.counter_ttl_secs()) {
        Ok(count) => {
            if count == 1 && !counters.forgets() {
                let _ = counters.remove(&[format!(
                    "cb:{provider}:failures:{}",
                    window.saturating_sub(2)
                )]);
            }
            count
        }
        Err(_) => return,
    };
    let probe_failed = matches!(admission, Admission::Probe { .. });
    if let Admission::Probe { lease } = admission {
        let _ = counters.remove(std::slice::from_ref(lease));
    }
    if failure.open_now || probe_failed || failures >= settings.failures {
        let until = now + settings.cooldown_millis;
        let _ = store.set(&open_key(provider), until.to_string().as_bytes());
        eprintln!(
            "gateway: circuit for {provider} open for {} s",
            settings.cooldown_millis / 1000
        );
    }
}

/// Whether this is `caller`'s first ambiguous failure of `provider` in
/// `window`. The marker of two windows back is deleted when a new one is
/// made, as the failure counters are; a counters error counts the failure.
fn first_for_caller(
    counters: &impl Counters,
    provider: &str,
    caller: &str,
    window: u64,
    settings: &Settings,
) -> bool {
    let digest = wws_guest::digest::sha256_hex(caller);
    let caller = &digest[..16];
    let marker = format!("cb:{provider}:caller:{caller}:{window}");
    match counters.claim(&marker, settings.counter_ttl_secs()) {
        Ok(true) => {
            if !counters.forgets() {
                let old = window.saturating_sub(2);
                let _ = counters.remove(&[format!("cb:{provider}:caller:{caller}:{old}")]);
            }
            true
        }
        Ok(false) => false,
        Err(_) => true,
    }
}

fn parse_millis(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use wws_guest::kv::{CountersOnKv, MemoryKv};

    use super::*;

    const SETTINGS: Settings = Settings {
        failures: 3,
        window_millis: 30_000,
        cooldown_millis: 10_000,
    };
    const NOW: u64 = 1_000_000;

    fn fail(counters: &CountersOnKv<MemoryKv>, admission: &Admission, blame: Blame<'_>, now: u64) {
        let failure = Failure {
            open_now: false,
            blame,
        };
        failure_at(
            counters.store(),
            counters,
            "p",
            admission,
            failure,
            &SETTINGS,
            now,
        );
    }

    #[test]
    fn the_circuit_opens_at_the_failure_count_for_the_cooldown() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let store = counters.store();
        for _ in 0..2 {
            fail(&counters, &Admission::Closed, Blame::Provider, NOW);
            assert_eq!(
                admit_at(store, &counters, "p", &SETTINGS, NOW),
                Admission::Closed
            );
        }
        fail(&counters, &Admission::Closed, Blame::Provider, NOW);
        assert_eq!(
            admit_at(store, &counters, "p", &SETTINGS, NOW + 2_500),
            Admission::Skip { retry_in_secs: 8 }
        );
        assert_eq!(
            admit_at(store, &counters, "other", &SETTINGS, NOW),
            Admission::Closed
        );
    }

    #[test]
    fn an_unmistakable_failure_opens_at_once() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let store = counters.store();
        let failure = Failure {
            open_now: true,
            blame: Blame::Provider,
        };
        failure_at(
            store,
            &counters,
            "p",
            &Admission::Closed,
            failure,
            &SETTINGS,
            NOW,
        );
        assert!(matches!(
            admit_at(store, &counters, "p", &SETTINGS, NOW),
            Admission::Skip { .. }
        ));
    }

    #[test]
    fn after_the_cooldown_one_probe_goes_and_its_success_closes() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let store = counters.store();
        for _ in 0..3 {
            fail(&counters, &Admission::Closed, Blame::Provider, NOW);
        }
        let later = NOW + SETTINGS.cooldown_millis + 1;
        let probe = admit_at(store, &counters, "p", &SETTINGS, later);
        assert!(matches!(probe, Admission::Probe { .. }), "{probe:?}");
        assert_eq!(
            admit_at(store, &counters, "p", &SETTINGS, later),
            Admission::Skip { retry_in_secs: 1 },
            "a second request waits for the probe"
        );
        success_at(store, &counters, "p", &probe);
        assert_eq!(
            admit_at(store, &counters, "p", &SETTINGS, later),
            Admission::Closed
        );
        assert!(
            !store.key_list().iter().any(|key| key.contains(":probe:")),
            "the probe's lease is given back: {:?}",
            store.key_list()
        );
    }

    #[test]
    fn a_failed_probe_opens_the_circuit_again() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let store = counters.store();
        for _ in 0..3 {
            fail(&counters, &Admission::Closed, Blame::Provider, NOW);
        }
        let later = NOW + SETTINGS.cooldown_millis + 1;
        let probe = admit_at(store, &counters, "p", &SETTINGS, later);
        fail(
            &counters,
            &probe,
            Blame::Ambiguous { caller: "tenant" },
            later,
        );
        assert_eq!(
            admit_at(store, &counters, "p", &SETTINGS, later),
            Admission::Skip { retry_in_secs: 10 }
        );
    }

    #[test]
    fn one_caller_counts_once_per_window_for_failures_it_may_have_caused() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let store = counters.store();
        for _ in 0..10 {
            fail(
                &counters,
                &Admission::Closed,
                Blame::Ambiguous { caller: "noisy" },
                NOW,
            );
        }
        assert_eq!(
            admit_at(store, &counters, "p", &SETTINGS, NOW),
            Admission::Closed
        );
        for caller in ["a", "b"] {
            fail(
                &counters,
                &Admission::Closed,
                Blame::Ambiguous { caller },
                NOW,
            );
        }
        assert!(matches!(
            admit_at(store, &counters, "p", &SETTINGS, NOW),
            Admission::Skip { .. }
        ));
    }

    #[test]
    fn failure_counters_two_windows_back_are_deleted() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let store = counters.store();
        fail(&counters, &Admission::Closed, Blame::Provider, NOW);
        fail(
            &counters,
            &Admission::Closed,
            Blame::Provider,
            NOW + 2 * SETTINGS.window_millis,
        );
        let failures: Vec<String> = store
            .key_list()
            .into_iter()
            .filter(|key| key.contains(":failures:"))
            .collect();
        assert_eq!(failures, [format!("cb:p:failures:{}", NOW / 30_000 + 2)]);
    }
}
