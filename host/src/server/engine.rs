//! One wasmtime engine per process, and the compiled component: compiled
//! code and its caches are shared by every server the process runs (tests
//! start many).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use wasmtime::component::Component;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Concurrent requests (each one instance of the composed component) the
/// pool holds slots for; the server admits no more than this at once.
pub const INSTANCE_SLOTS: u32 = 512;
/// Per guest memory; the components use a few MiB.
const GUEST_MEMORY_LIMIT: usize = 256 << 20;
/// What one instance of the composed component holds at most: each of its
/// six Rust components is a core module with wit-component's shim and fixup
/// instances around it (about 20 core instances and a dozen tables), and a
/// memory each. With room to spare, so a full set of instance slots never
/// runs the pool dry: short of it, requests past the pool's capacity would
/// fail to instantiate (a 500) instead of waiting for a slot (a 503).
const CORE_INSTANCES_PER_SLOT: u32 = 32;
const TABLES_PER_SLOT: u32 = 32;
const MEMORIES_PER_SLOT: u32 = 16;
/// More than a request touches in each component's memory.
const KEEP_RESIDENT: usize = 2 << 20;
/// How often running guests are interrupted to check their deadlines, as
/// Spin ticks (its `DEFAULT_EPOCH_TICK_INTERVAL`).
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

pub fn engine() -> Result<Engine> {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    if let Some(engine) = ENGINE.get() {
        return Ok(engine.clone());
    }
    let mut config = Config::new();
    // A fresh instance per request: the pooling allocator keeps memories
    // and tables mapped and reuses them instead of mapping per request.
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(INSTANCE_SLOTS)
        .total_core_instances(INSTANCE_SLOTS * CORE_INSTANCES_PER_SLOT)
        .total_memories(INSTANCE_SLOTS * MEMORIES_PER_SLOT)
        .total_tables(INSTANCE_SLOTS * TABLES_PER_SLOT)
        .max_memory_size(GUEST_MEMORY_LIMIT)
        // Reset the first pages of a reused slot with memset instead of
        // madvise: no page faults and no TLB shootdowns on the next request
        // (the profile showed them as the largest single cost).
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT)
        // Without PAGEMAP_SCAN that memset touches the whole first 2 MiB of
        // every memory of every slot a burst used, pages the guest never
        // wrote included: 128 stalled requests left ~900 MiB resident for
        // good. With it (Linux 6.7+) only the pages a guest dirtied are
        // reset, so a slot stays as small as its request made it.
        .pagemap_scan(Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // Compiled code checks the epoch at function entries and loop heads, so
    // a guest that computes forever can be stopped (see `guest::Watch`).
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let engine = ENGINE.get_or_init(|| engine).clone();
    start_ticker(&engine);
    Ok(engine)
}

/// Advances the engine's epoch every [`EPOCH_TICK`], for the life of the
/// process, as Spin's engine does.
fn start_ticker(engine: &Engine) {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("wws-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map(drop)
            .unwrap_or_else(|error| tracing::error!("epoch ticker did not start: {error}"));
    });
}

/// Compiles `source`, or reuses this process's compilation of the same
/// unchanged file: tests start many servers, and compiling is the slow part.
pub fn compiled(engine: &Engine, source: &Path) -> Result<Component> {
    type Compiled = HashMap<PathBuf, (SystemTime, Component)>;
    static COMPILED: OnceLock<Mutex<Compiled>> = OnceLock::new();
    let modified = std::fs::metadata(source)?.modified()?;
    let cache = COMPILED.get_or_init(Default::default);
    if let Ok(cache) = cache.lock()
        && let Some((when, component)) = cache.get(source)
        && *when == modified
    {
        return Ok(component.clone());
    }
    let component = Component::from_file(engine, source)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("compiling {}", source.display()))?;
    if let Ok(mut cache) = cache.lock() {
        cache.insert(source.to_path_buf(), (modified, component.clone()));
    }
    Ok(component)
}
