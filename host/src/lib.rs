//! wws-host: a wasmtime embedding that serves the composed WWS component
//! with exactly the host interfaces Spin provides (`wasi:http` 0.2,
//! `wasi:keyvalue@0.2.0-draft2`, `wasi:config@0.2.0-draft-2024-09-27`,
//! `fermyon:spin/redis@2.0.0`), so the `.wasm` that runs under `spin up`
//! runs here unchanged; `--platform` narrows them (and adds quotas) to what
//! a managed edge provides.

pub mod allowed_hosts;
pub mod demo;
mod guest_api;
pub mod kv;
pub mod manifest;
mod outbound;
pub mod platform;
pub mod runtime_config;
mod server;
mod spin_costs;
mod state;
mod stdio_tally;
pub mod summary;
mod tally;
pub mod template;
pub mod variables;

pub use outbound::{Redirect, redirect_of};
pub use platform::Platform;
pub use server::{HostOptions, Limits, Server};
