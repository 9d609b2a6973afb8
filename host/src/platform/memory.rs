//! A platform's memory quota for one execution, as a wasmtime
//! [`ResourceLimiter`] on the request's store.
//!
//! Spin's own limiter (`crates/core/src/limits.rs`) caps each linear memory
//! on its own. The platforms publish a limit "per execution", and the
//! composed component is several core modules with a memory each, so this
//! one caps their sum: the stricter reading, so an app within it here is
//! within it there. A growth past the quota fails as a refused `memory.grow`
//! does (the guest's allocator sees it fail), as Spin's limiter answers.

use std::sync::Arc;

use wasmtime::ResourceLimiter;

use super::meter::QuotaMeter;
use super::quotas::Quota;

pub struct ExecutionMemory {
    /// The quota and where its breaches are counted; `None`: no quota.
    quota: Option<(usize, Arc<QuotaMeter>)>,
    /// Bytes of linear memory the execution's memories hold together.
    used: usize,
    /// The growth last allowed, taken back if wasmtime then fails it.
    pending: usize,
    /// A guest refused once tends to retry; its request counts once.
    reported: bool,
}

impl ExecutionMemory {
    /// The platform's memory quota, if `meter` has one.
    pub fn new(meter: Option<&Arc<QuotaMeter>>) -> Self {
        let quota = meter.and_then(|meter| {
            let limit = meter.quotas().execution_memory_bytes?;
            Some((limit, meter.clone()))
        });
        Self {
            quota,
            used: 0,
            pending: 0,
            reported: false,
        }
    }

    /// Whether there is a quota to hold the execution to; without one the
    /// store needs no limiter at all.
    pub fn is_limited(&self) -> bool {
        self.quota.is_some()
    }

    fn grow(&mut self, current: usize, desired: usize) -> bool {
        let growth = desired.saturating_sub(current);
        let total = self.used.saturating_add(growth);
        if let Some((limit, meter)) = &self.quota
            && total > *limit
        {
            self.pending = 0;
            if !self.reported {
                self.reported = true;
                meter.breach(Quota::ExecutionMemory);
            }
            return false;
        }
        self.used = total;
        self.pending = growth;
        true
    }
}

impl ResourceLimiter for ExecutionMemory {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired))
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.used = self.used.saturating_sub(self.pending);
        self.pending = 0;
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Platform;

    const MIB: usize = 1 << 20;

    #[test]
    fn the_memories_of_one_execution_share_the_quota() {
        let meter = QuotaMeter::for_platform(Platform::Akamai).expect("quotas");
        let mut memory = ExecutionMemory::new(Some(&meter));
        assert!(memory.is_limited());
        // Two modules instantiated, then each grows.
        assert!(memory.grow(0, 64 * MIB));
        assert!(memory.grow(0, 32 * MIB));
        assert!(memory.grow(32 * MIB, 64 * MIB));
        assert!(!memory.grow(64 * MIB, 64 * MIB + 1));
        assert!(!memory.grow(64 * MIB, 128 * MIB));
        assert_eq!(meter.breaches(), vec![(Quota::ExecutionMemory, 1)]);
    }

    #[test]
    fn a_failed_growth_is_given_back() {
        let meter = QuotaMeter::for_platform(Platform::Akamai).expect("quotas");
        let mut memory = ExecutionMemory::new(Some(&meter));
        assert!(memory.is_limited());
        assert!(memory.grow(0, 100 * MIB));
        memory
            .memory_grow_failed(wasmtime::Error::msg("no room"))
            .expect("ignored");
        assert!(memory.grow(0, 100 * MIB));
    }

    #[test]
    fn fermyon_cloud_publishes_no_memory_quota() {
        let meter = QuotaMeter::for_platform(Platform::FermyonCloud).expect("quotas");
        assert!(!ExecutionMemory::new(Some(&meter)).is_limited());
        assert!(!ExecutionMemory::new(None).is_limited());
    }
}
