//! Runs the composed `target/wws.wasm` on wws-host in-process, on an
//! ephemeral loopback port, with the repository's own `spin.toml`; or the
//! edge build (`spin-akamai.toml`, `target/wws-akamai.wasm`) on wws-host
//! behaving as a managed platform (`--platform akamai`).

mod env;
mod host;

pub use env::{Env, variables_for};
pub use host::*;
