//! Fault injection for the key-value stores, for tests of what the gateway
//! does when its store is slow or down. Switched at run time, so one running
//! host can be broken and healed within a test.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::error::KvError;

#[derive(Clone, Default)]
pub struct KvFaults {
    state: Arc<FaultState>,
}

#[derive(Default)]
struct FaultState {
    failing: AtomicBool,
    atomics_failing: AtomicBool,
    delay_millis: AtomicU64,
}

impl KvFaults {
    /// While on, every store operation fails.
    pub fn fail(&self, on: bool) {
        self.state.failing.store(on, Ordering::SeqCst);
    }

    /// While on, atomic operations (increment, compare-and-swap) fail and
    /// everything else works: a platform whose store lacks atomics.
    pub fn fail_atomics(&self, on: bool) {
        self.state.atomics_failing.store(on, Ordering::SeqCst);
    }

    /// Added to every store operation; zero switches it off.
    pub fn delay(&self, delay: Duration) {
        self.state
            .delay_millis
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    pub(crate) async fn inject(&self) -> Result<(), KvError> {
        let delay = self.state.delay_millis.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if self.state.failing.load(Ordering::SeqCst) {
            return Err(KvError::Injected);
        }
        Ok(())
    }

    pub(crate) async fn inject_atomic(&self) -> Result<(), KvError> {
        self.inject().await?;
        if self.state.atomics_failing.load(Ordering::SeqCst) {
            return Err(KvError::Injected);
        }
        Ok(())
    }
}
