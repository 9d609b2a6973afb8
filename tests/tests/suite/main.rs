//! Every integration test of the composed component, in one binary: one
//! link and one compilation of `target/wws.wasm` for the whole suite.

mod ai;
mod anthropic;
mod auth;
mod auth_faults;
mod cache;
mod clients;
mod edge;
mod failover;
mod foundation;
mod host_limits;
mod hostile;
mod key_pools;
mod kv_faults;
mod operators;
mod origin;
mod provider_faults;
mod ratelimit;
mod routing;
mod sdk;
mod secrets;
mod settings;
mod stream_failover;
mod token_budgets;
