//! Benchmark mode (`wws-host up --spin-costs`): the guest's host calls cost
//! what they cost under Spin 4.0.2, so a benchmark shows both hosts'
//! profiles and a change that only helps wws-host is visible as such.
//!
//! Read from Spin's source at tag v4.0.2:
//! - its SQLite store keeps SQLite's defaults (rollback journal, full sync)
//!   and runs every call in `block_in_place` ([`crate::kv::SqliteCosts`]);
//!   opening a store blocks the same way, however often it is opened
//!   (`crates/key-value-spin`);
//! - every `wasi:config` read walks the variable providers, the first of
//!   which is the environment, looked up inside `block_in_place`
//!   (`crates/variables-env`); nothing is cached between reads;
//! - an instance's first outgoing request resolves every app variable the
//!   same way to build its `allowed_outbound_hosts`
//!   (`crates/factor-outbound-networking`).
//!
//! The values served stay this host's; only the work is repeated.

use std::sync::Arc;

/// What one instance is charged; cloned into each request's state.
#[derive(Clone)]
pub struct SpinCosts {
    variables: Arc<Vec<String>>,
    allowed_hosts_resolved: bool,
}

impl SpinCosts {
    pub fn new(variables: impl IntoIterator<Item = String>) -> Self {
        Self {
            variables: Arc::new(variables.into_iter().collect()),
            allowed_hosts_resolved: false,
        }
    }

    /// One `wasi:keyvalue` `open`.
    pub fn store_opened(&self) {
        tokio::task::block_in_place(|| ());
    }

    /// One `wasi:config` read of `name`.
    pub fn variable_read(&self, name: &str) {
        environment_lookup(name);
    }

    /// `wasi:config` `get-all`: every variable, one provider walk each.
    pub fn all_variables_read(&self) {
        self.variables
            .iter()
            .for_each(|name| environment_lookup(name));
    }

    /// Before an outgoing request: the instance's first resolves every
    /// variable for its allow-list.
    pub fn outgoing_request(&mut self) {
        if !self.allowed_hosts_resolved {
            self.allowed_hosts_resolved = true;
            self.all_variables_read();
        }
    }
}

fn environment_lookup(name: &str) {
    let key = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
    tokio::task::block_in_place(|| std::hint::black_box(std::env::var_os(key)));
}
