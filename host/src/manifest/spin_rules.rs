//! What `spin up` checks when it loads a manifest, mirrored rule for rule
//! from Spin 4.0.2 (`crates/loader`, `crates/expressions`,
//! `crates/outbound-networking-config`), with Spin's words in the errors.

use super::document::Manifest;
use crate::allowed_hosts::{AllowedHost, refuse_allow_all_keyword};
use crate::template::Template;

/// What `spin up` checks when it loads a manifest, before any value is
/// supplied: variable declarations, the component's variable templates, and
/// every `allowed_outbound_hosts` entry that its variables' defaults resolve
/// (an entry whose variables lack a default is checked once resolved).
pub(super) fn check(manifest: &Manifest) -> Result<(), String> {
    for (name, variable) in &manifest.variables {
        check_variable_name(name)?;
        if variable.required == variable.default.is_some() {
            return Err(format!(
                "variable {name:?}: must be `required` OR have a `default`"
            ));
        }
    }
    check_triggers(manifest)?;
    for (id, component) in &manifest.component {
        check_component_id(id)?;
        let in_component = |error: String| format!("Failed to load component `{id}`: {error}");
        for (name, value) in &component.variables {
            check_variable_name(name).map_err(in_component)?;
            let template = Template::parse(value).map_err(|e| in_component(e.to_string()))?;
            if let Some(unknown) = template
                .variables()
                .find(|var| !manifest.variables.contains_key(*var))
            {
                return Err(in_component(format!(
                    "invalid variable template: unknown variable {unknown:?}"
                )));
            }
        }
        check_allowed_hosts_with_defaults(manifest, &component.allowed_outbound_hosts).map_err(
            |error| in_component(format!("`allowed_outbound_hosts` is malformed: {error}")),
        )?;
    }
    Ok(())
}

/// wws-host serves one component for every path, so the manifest must say
/// exactly that; a route it would not honour is refused, not ignored.
fn check_triggers(manifest: &Manifest) -> Result<(), String> {
    match manifest.trigger.http.as_slice() {
        [trigger] if trigger.route == "/..." => Ok(()),
        [trigger] => Err(format!(
            "route {:?}: wws-host serves one component for every path; use route = \"/...\"",
            trigger.route
        )),
        [] => Err("no [[trigger.http]] defined".into()),
        _ => Err("wws-host serves one [[trigger.http]]; this manifest has several".into()),
    }
}

/// Spin's component ids are kebab-case: lowercase words of letters and
/// digits, each starting with a letter, joined by single `-`.
fn check_component_id(id: &str) -> Result<(), String> {
    let valid = !id.is_empty()
        && id.split('-').all(|word| {
            word.starts_with(|c: char| c.is_ascii_lowercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "component id {id:?} must be kebab-case: lowercase words of letters and digits, each starting with a letter, joined by '-'"
        ))
    }
}

fn check_allowed_hosts_with_defaults(
    manifest: &Manifest,
    entries: &[String],
) -> Result<(), String> {
    refuse_allow_all_keyword(entries).map_err(|error| error.to_string())?;
    for entry in entries {
        let template = Template::parse(entry).map_err(|error| error.to_string())?;
        if template.is_literal() {
            AllowedHost::parse(entry).map_err(|error| error.to_string())?;
            continue;
        }
        let default = |name: &str| {
            manifest
                .variables
                .get(name)
                .and_then(|variable| variable.default.as_deref())
        };
        // Spin can check only what the defaults resolve; the rest waits for values.
        let Some(resolved) = template.render(default) else {
            continue;
        };
        AllowedHost::parse(&resolved).map_err(|error| {
            format!(
                "using default variable value(s) with template {:?} results in invalid config {resolved:?}: {error}",
                template.to_string()
            )
        })?;
    }
    Ok(())
}

/// Spin's rule for variable names, which become `SPIN_VARIABLE_<NAME>` and
/// file names: lowercase ASCII letters, digits and single underscores,
/// starting with a letter and ending with a letter or digit.
pub fn check_variable_name(name: &str) -> Result<(), String> {
    let reason = if name.is_empty() {
        Some("must not be empty".to_string())
    } else if let Some(invalid) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        Some(format!(
            "invalid character {invalid:?}. Variable names may contain only lower-case letters, numbers, and underscores."
        ))
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        Some("must start with a lowercase ASCII letter".into())
    } else if !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("must end with a lowercase ASCII letter or digit".into())
    } else if name.contains("__") {
        Some("must not contain multiple consecutive underscores".into())
    } else {
        // Spin's identifier type: each word of a snake_case name starts with a letter.
        name.split('_')
            .find(|word| !word.starts_with(|c: char| c.is_ascii_lowercase()))
            .map(|word| {
                format!(
                    "'_'-separated words must start with an ASCII letter; got {:?}",
                    word.chars().next().unwrap_or('_')
                )
            })
    };
    match reason {
        Some(reason) => Err(format!("invalid variable name: {name:?}: {reason}")),
        None => Ok(()),
    }
}
