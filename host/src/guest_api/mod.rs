//! The host side of the interfaces guests import beyond WASI and HTTP:
//! Spin's key-value store (`wasi:keyvalue` draft2) and variables
//! (`wasi:config`), generated from the project's own `wit/`.

mod bindings;
mod config;
mod keyvalue;
mod resources;

pub use bindings::SpinHost;
