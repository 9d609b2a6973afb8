//! Spin variables, read through `wasi:config/store`.

use crate::bindings::wasi::config::store;

/// The variable's value, or `None` when it is unset or empty.
///
/// Spin reports an undeclared variable as an error; for a component that is
/// the same as "not configured", so both map to `None`.
pub fn get(name: &str) -> Option<String> {
    match store::get(name) {
        Ok(Some(value)) if !value.trim().is_empty() => Some(value),
        _ => None,
    }
}

/// The variable parsed as a number, or `default` when unset or unparsable.
pub fn get_u64(name: &str, default: u64) -> u64 {
    get(name)
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(default)
}
