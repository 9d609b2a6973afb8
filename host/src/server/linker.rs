//! The host interfaces a component is linked against: WASI 0.2 and
//! `wasi:http` everywhere, then the `spin-host` interfaces the platform
//! provides, one by one.
//!
//! A component that imports an interface the platform lacks would fail to
//! link with wasmtime's generic "matching implementation was not found";
//! [`pre_instantiate`] names the import and the platform instead, before a
//! port is bound.

use anyhow::{Context, Result, bail};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::guest_api;
use crate::platform::{HostInterface, Platform};
use crate::state::WwsState;

pub fn linker(engine: &Engine, platform: Platform) -> Result<Linker<WwsState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    for interface in HostInterface::ALL {
        if platform.provides(interface) {
            guest_api::add_to_linker(&mut linker, interface)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("linking {}", interface.name()))?;
        }
    }
    Ok(linker)
}

/// Links `component` for `platform`, refusing it by name if it imports a
/// host interface the platform does not provide.
pub fn pre_instantiate(
    engine: &Engine,
    component: &Component,
    platform: Platform,
) -> Result<ProxyPre<WwsState>> {
    let component_type = component.component_type();
    let imports: Vec<&str> = component_type
        .imports(engine)
        .map(|(name, _)| name)
        .collect();
    if let Some(missing) = platform.first_missing(imports.iter().copied()) {
        bail!(
            "the component imports `{missing}`, which {} does not provide \
             (--platform {platform}); it would not start there",
            platform.spec().title
        );
    }
    let linker = linker(engine, platform)?;
    let pre = linker
        .instantiate_pre(component)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("linking the component for --platform {platform}"))?;
    Ok(ProxyPre::new(pre)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component that only imports `interface` (as an instance it uses
    /// nothing of) and exports nothing.
    fn importing(engine: &Engine, interface: HostInterface) -> Component {
        let wat = format!("(component (import \"{}\" (instance)))", interface.name());
        Component::new(engine, wat).expect("a valid component")
    }

    fn refusal(platform: Platform, interface: HostInterface) -> String {
        let engine = Engine::default();
        let component = importing(&engine, interface);
        match pre_instantiate(&engine, &component, platform) {
            Ok(_) => panic!("a component without the HTTP export cannot link"),
            Err(error) => format!("{error:#}"),
        }
    }

    #[test]
    fn an_import_the_platform_lacks_is_named_with_the_platform() {
        let refused = refusal(Platform::Akamai, HostInterface::KeyValueAtomics);
        assert!(
            refused.starts_with(
                "the component imports `wasi:keyvalue/atomics@0.2.0-draft2`, \
                 which Akamai Functions does not provide (--platform akamai)"
            ),
            "{refused}"
        );
        let refused = refusal(Platform::FermyonCloud, HostInterface::KeyValueAtomics);
        assert!(
            refused.contains("Fermyon Cloud does not provide"),
            "{refused}"
        );
    }

    #[test]
    fn what_the_platform_provides_links() {
        // Linked, then refused only for lacking `wasi:http/incoming-handler`.
        for (platform, interface) in [
            (Platform::Spin, HostInterface::KeyValueAtomics),
            (Platform::Akamai, HostInterface::Redis),
            (Platform::Akamai, HostInterface::KeyValueBatch),
            (Platform::FermyonCloud, HostInterface::Config),
        ] {
            let refused = refusal(platform, interface);
            assert!(
                refused.contains("no exported instance named `wasi:http/incoming-handler"),
                "{refused}"
            );
        }
    }
}
