//! The import allow-list of a composed component, per platform
//! ([`Host::allows`]): only interfaces the target host provides, so the
//! build fails here rather than at instantiation there.

use anyhow::Result;
use wac_graph::types::{ItemKind, Package, Type, Types};

use crate::platform::Host;

/// Imports the composed component may leave unresolved although no host
/// provides them, because they carry types only (no functions, no resources).
const TYPE_ONLY: [&str; 1] = ["mylder:wws/types@0.2.0"];

/// Every import of the composed component, with whether `host` has it.
pub fn check(component: &[u8], host: Host) -> Result<Vec<(String, bool)>> {
    let mut types = Types::new();
    let package = Package::from_bytes("mylder:wws-composed", None, component.to_vec(), &mut types)?;
    let world = &types[package.ty()];
    Ok(world
        .imports
        .iter()
        .map(|(name, kind)| {
            let allowed = if TYPE_ONLY.contains(&name.as_str()) {
                is_type_only(kind, &types)
            } else {
                host.allows(name)
            };
            (name.clone(), allowed)
        })
        .collect())
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
