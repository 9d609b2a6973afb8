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

/// The variable parsed by `parse`, or `None` when unset. An invalid value is
/// logged and ignored, so a typo in one setting falls back to its defaults
/// instead of failing every request.
pub fn parsed<T, E: std::fmt::Display>(
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Option<T> {
    let value = get(name)?;
    match parse(&value) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            eprintln!("ignoring invalid {name}: {error}");
            None
        }
    }
}
