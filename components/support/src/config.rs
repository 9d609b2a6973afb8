//! Spin variables, read through `wasi:config/store`.
//!
//! Each variable is asked of the host once per instance and remembered:
//! under Spin every `get` walks its variable providers with a blocking
//! environment lookup, and a request read about 25 values, several of them
//! more than once. An instance serves one request on Spin and on wws-host
//! (`wasi:http` 0.2 instances are never reused), so a value is still read
//! fresh for every request.

use std::cell::RefCell;

use crate::bindings::wasi::config::store;

thread_local! {
    /// A list, not a map: an instance reads a dozen or two names.
    static READ: RefCell<Vec<(String, Option<String>)>> = const { RefCell::new(Vec::new()) };
    /// Settings that were set but did not parse, in this instance.
    static PROBLEMS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The variable's value, or `None` when it is unset or empty.
///
/// Spin reports an undeclared variable as an error; for a component that is
/// the same as "not configured", so both map to `None`.
pub fn get(name: &str) -> Option<String> {
    let known = READ.with_borrow(|read| {
        read.iter()
            .find(|(read_name, _)| read_name == name)
            .map(|(_, value)| value.clone())
    });
    if let Some(value) = known {
        return value;
    }
    let value = match store::get(name) {
        Ok(Some(value)) if !value.trim().is_empty() => Some(value),
        _ => None,
    };
    READ.with_borrow_mut(|read| read.push((name.to_string(), value.clone())));
    value
}

/// An upstream's origin (`scheme://host[:port]`, trailing `/` dropped), or
/// `None` when it is unset. The manifest's default for an optional upstream
/// is `http://self`: Spin checks every `allowed_outbound_hosts` entry against
/// the defaults when it loads the app, so "none" must still be a valid entry,
/// and `self` (relative requests to the app itself) is the one that allows
/// no outside host.
pub fn upstream(name: &str) -> Option<String> {
    get(name)
        .map(|value| value.trim().trim_end_matches('/').to_string())
        .filter(|origin| !is_self(origin))
}

fn is_self(origin: &str) -> bool {
    let host = origin.split_once("://").map_or(origin, |(_, host)| host);
    matches!(host, "self" | "self.alt")
}

/// The variable parsed as a number, or `default` when unset or unparsable
/// (a [problem](problems)).
pub fn get_u64(name: &str, default: u64) -> u64 {
    parsed(name, |value| value.trim().parse::<u64>()).unwrap_or(default)
}

/// The variable parsed by `parse`, or `None` when unset. An invalid value is
/// ignored, so a typo in one setting falls back to its defaults instead of
/// failing every request; it is logged and kept as one of the [`problems`].
pub fn parsed<T, E: std::fmt::Display>(
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Option<T> {
    let value = get(name)?;
    match parse(&value) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            report(format!("{name} is invalid and ignored: {error}"));
            None
        }
    }
}

/// Records a setting that is set but unusable; each is logged once.
pub fn report(problem: String) {
    PROBLEMS.with_borrow_mut(|problems| {
        if !problems.contains(&problem) {
            eprintln!("{problem}");
            problems.push(problem);
        }
    });
}

/// The settings this instance found set but unusable so far: a component's
/// `settings-problems` loads all its settings, then returns these.
pub fn problems() -> Vec<String> {
    PROBLEMS.with_borrow(Clone::clone)
}

#[cfg(test)]
mod tests {
    #[test]
    fn self_is_no_upstream() {
        assert!(super::is_self("http://self"));
        assert!(super::is_self("https://self.alt"));
        assert!(!super::is_self("http://selfie.example"));
        assert!(!super::is_self("https://vps.example"));
    }
}
