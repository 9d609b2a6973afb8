//! The host side of the interfaces guests import beyond WASI and HTTP:
//! Spin's key-value store (`wasi:keyvalue` draft2), variables
//! (`wasi:config`) and outbound Redis (`fermyon:spin/redis`), generated
//! from the project's own `wit/`.

mod bindings;
mod config;
mod keyvalue;
#[cfg(test)]
mod kv_quota_tests;
mod outbound_redis;
#[cfg(test)]
mod redis_host_tests;
mod redis_reply;
mod resources;

use wasmtime::component::{HasSelf, Linker};

use crate::platform::HostInterface;
use crate::state::WwsState;

/// Links one interface of the `spin-host` world. Interfaces are linked one
/// by one, not as the whole world, so a platform that lacks one leaves it
/// out and a component importing it fails to link, as it would fail there.
pub fn add_to_linker(
    linker: &mut Linker<WwsState>,
    interface: HostInterface,
) -> wasmtime::Result<()> {
    use bindings::{fermyon, wasi};
    fn state(state: &mut WwsState) -> &mut WwsState {
        state
    }
    match interface {
        HostInterface::KeyValueStore => {
            wasi::keyvalue::store::add_to_linker::<_, HasSelf<WwsState>>(linker, state)
        }
        HostInterface::KeyValueAtomics => {
            wasi::keyvalue::atomics::add_to_linker::<_, HasSelf<WwsState>>(linker, state)
        }
        HostInterface::KeyValueBatch => {
            wasi::keyvalue::batch::add_to_linker::<_, HasSelf<WwsState>>(linker, state)
        }
        HostInterface::Config => {
            wasi::config::store::add_to_linker::<_, HasSelf<WwsState>>(linker, state)
        }
        HostInterface::Redis => {
            fermyon::spin::redis::add_to_linker::<_, HasSelf<WwsState>>(linker, state)
        }
    }
}
