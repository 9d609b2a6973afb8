//! Per-request store data: one fresh instance's view of WASI, HTTP, KV and
//! variables. Everything shared between requests sits behind `Arc`s.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

#[cfg(feature = "fault-injection")]
use crate::kv::KvFaults;
use crate::kv::KvStore;
use crate::outbound::OutboundPolicy;
use crate::platform::{ExecutionMemory, QuotaMeter};
use crate::server::watch::Watch;
use crate::spin_costs::SpinCosts;
use crate::tally::HostCallTally;

/// The stores a component may open, by label.
pub struct KvStores {
    pub stores: HashMap<String, KvStore>,
    pub allowed_labels: BTreeSet<String>,
    /// Test mode only: breaks or slows every operation on demand.
    #[cfg(feature = "fault-injection")]
    pub faults: Option<KvFaults>,
}

pub struct WwsState {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub table: ResourceTable,
    pub kv: Arc<KvStores>,
    pub variables: Arc<HashMap<String, String>>,
    pub outbound: OutboundPolicy,
    /// This request's deadlines, read at every epoch tick.
    pub watch: Watch,
    pub calls: HostCallTally,
    /// Benchmark mode: Spin's cost of each configuration read.
    pub spin_costs: Option<SpinCosts>,
    /// `fermyon:spin/redis` connections this instance holds open.
    pub redis_connections: u32,
    /// The platform's quotas, shared by every request of the app; `None`
    /// on plain Spin, which has none.
    pub quotas: Option<Arc<QuotaMeter>>,
    /// The platform's memory quota for this execution, installed as the
    /// store's limiter when there is one.
    pub memory: ExecutionMemory,
}

impl WasiView for WwsState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for WwsState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

/// A request's state for host-call tests: a memory store labelled
/// `default`, the allow-list `allowed`, and `platform`'s quotas.
#[cfg(test)]
pub fn for_tests(allowed: &[&str], platform: crate::platform::Platform) -> WwsState {
    use std::time::{Duration, Instant};

    use crate::allowed_hosts::AllowedHosts;
    use crate::kv::MemoryStore;

    let quotas = QuotaMeter::for_platform(platform);
    WwsState {
        wasi: WasiCtx::builder().build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
        kv: Arc::new(KvStores {
            stores: HashMap::from([("default".into(), KvStore::Memory(MemoryStore::default()))]),
            allowed_labels: BTreeSet::from(["default".into()]),
            #[cfg(feature = "fault-injection")]
            faults: None,
        }),
        variables: Arc::default(),
        outbound: OutboundPolicy {
            allowed: Arc::new(AllowedHosts::parse(allowed).expect("a valid allow-list")),
            pool: Arc::default(),
            spin_costs: None,
        },
        watch: Watch::new(Instant::now(), Duration::from_secs(60)),
        calls: HostCallTally::new(&http::Method::GET, "/"),
        spin_costs: None,
        redis_connections: 0,
        memory: ExecutionMemory::new(quotas.as_ref()),
        quotas,
    }
}
