//! The import allow-list of the composed component: only interfaces that
//! Spin 3.x/4.x and wws-host both provide, so the same `.wasm` runs on each.

use anyhow::Result;
use wac_graph::types::{ItemKind, Package, Type, Types};

/// Package prefixes with a semver range every supported host provides.
const ALLOWED: [&str; 10] = [
    "wasi:http/",
    "wasi:keyvalue/store@0.2.0-draft2",
    "wasi:keyvalue/atomics@0.2.0-draft2",
    "wasi:keyvalue/batch@0.2.0-draft2",
    "wasi:config/store@0.2.0-draft-2024-09-27",
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
];
const ALLOWED_WASI_SOCKETS: &str = "wasi:sockets/";

/// Imports the composed component may leave unresolved although no host
/// provides them, because they carry types only (no functions, no resources).
const TYPE_ONLY: [&str; 1] = ["mylder:wws/types@0.2.0"];

/// Every import of the composed component, with whether it is allowed.
pub fn check(component: &[u8]) -> Result<Vec<(String, bool)>> {
    let mut types = Types::new();
    let package = Package::from_bytes("mylder:wws-composed", None, component.to_vec(), &mut types)?;
    let world = &types[package.ty()];
    Ok(world
        .imports
        .iter()
        .map(|(name, kind)| (name.clone(), is_allowed(name, kind, &types)))
        .collect())
}

fn is_allowed(name: &str, kind: &ItemKind, types: &Types) -> bool {
    if TYPE_ONLY.contains(&name) {
        return is_type_only(kind, types);
    }
    is_allowed_name(name)
}

pub fn is_allowed_name(name: &str) -> bool {
    let wasi_02 = |prefix: &str| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.split_once('@'))
            .is_some_and(|(_, version)| version.starts_with("0.2."))
    };
    ALLOWED.iter().any(|allowed| {
        if allowed.ends_with('/') {
            wasi_02(allowed)
        } else {
            name == *allowed
        }
    }) || wasi_02(ALLOWED_WASI_SOCKETS)
}

fn is_type_only(kind: &ItemKind, types: &Types) -> bool {
    let ItemKind::Instance(interface) = kind else {
        return false;
    };
    types[*interface]
        .exports
        .values()
        .all(|item| matches!(item, ItemKind::Type(ty) if !matches!(ty, Type::Resource(_))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_wasi_02_and_spin_draft_interfaces() {
        for name in [
            "wasi:http/outgoing-handler@0.2.4",
            "wasi:io/streams@0.2.9",
            "wasi:keyvalue/atomics@0.2.0-draft2",
            "wasi:config/store@0.2.0-draft-2024-09-27",
            "wasi:sockets/tcp@0.2.0",
        ] {
            assert!(is_allowed_name(name), "{name}");
        }
    }

    #[test]
    fn refuses_other_versions_and_packages() {
        for name in [
            "wasi:keyvalue/store@0.2.0-draft",
            "wasi:config/store@0.2.0-rc.1",
            "wasi:http/types@0.3.0",
            "fermyon:spin/key-value@2.0.0",
            "mylder:wws/auth@0.2.0",
        ] {
            assert!(!is_allowed_name(name), "{name}");
        }
    }
}
