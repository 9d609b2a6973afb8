//! Shared pieces of the integration suite: loopback mock upstreams and a
//! harness that runs the composed `target/wws.wasm` on wws-host in-process.

pub mod gateway;
pub mod mock;
pub mod operator;
pub mod provider;
pub mod python;
pub mod raw_http;
pub mod redis_process;
pub mod supabase;
pub mod tokens;
