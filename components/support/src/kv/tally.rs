//! What this instance asked of the store and the shared counters, for the
//! access log: an instance serves one request, so these are the request's
//! counts for this component. The platform quotas (Akamai Functions: 1,000
//! key-value reads and 50 writes a second per app) are in these units.

use std::cell::Cell;

thread_local! {
    static KV_READS: Cell<u32> = const { Cell::new(0) };
    static KV_WRITES: Cell<u32> = const { Cell::new(0) };
    static COUNTER_CALLS: Cell<u32> = const { Cell::new(0) };
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Operations {
    pub kv_reads: u32,
    pub kv_writes: u32,
    /// One Redis round trip each on the edge build.
    pub counter_calls: u32,
}

impl std::ops::Add for Operations {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            kv_reads: self.kv_reads.saturating_add(other.kv_reads),
            kv_writes: self.kv_writes.saturating_add(other.kv_writes),
            counter_calls: self.counter_calls.saturating_add(other.counter_calls),
        }
    }
}

/// A component's `operations()`: this instance's counts as its contract's
/// `store-operations` record, `$record` (each component's bindings name
/// that type on their own).
#[macro_export]
macro_rules! store_operations {
    ($record:ident) => {{
        let counted = $crate::kv::operations();
        $record {
            kv_reads: counted.kv_reads,
            kv_writes: counted.kv_writes,
            counter_calls: counted.counter_calls,
        }
    }};
}

/// This instance's counts so far.
pub fn operations() -> Operations {
    Operations {
        kv_reads: KV_READS.get(),
        kv_writes: KV_WRITES.get(),
        counter_calls: COUNTER_CALLS.get(),
    }
}

fn bump(cell: &'static std::thread::LocalKey<Cell<u32>>) {
    cell.with(|count| count.set(count.get().saturating_add(1)));
}

pub(super) fn kv_read() {
    bump(&KV_READS);
}

pub(super) fn kv_write() {
    bump(&KV_WRITES);
}

pub(super) fn counter_call() {
    bump(&COUNTER_CALLS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_kind() {
        kv_read();
        kv_read();
        kv_write();
        counter_call();
        let mine = operations();
        assert_eq!(
            mine,
            Operations {
                kv_reads: 2,
                kv_writes: 1,
                counter_calls: 1
            }
        );
        assert_eq!((mine + mine).kv_reads, 4);
    }
}
