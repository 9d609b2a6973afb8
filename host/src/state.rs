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
