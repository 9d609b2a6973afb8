//! The builds and the hosts they run on: which counters plug fills the
//! components' `mylder:wws/counters` import, where the result is written,
//! and which imports each host provides.

use anyhow::{Result, bail};

/// A composition: the same components, one counters plug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Self-hosted Spin (SQLite or Redis store) and wws-host.
    Spin,
    /// The managed edge: Akamai Functions, and Fermyon Cloud.
    Akamai,
}

/// A host with its published interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    SelfHostedSpin,
    AkamaiFunctions,
    FermyonCloud,
}

/// Interfaces at their exact versions, or package prefixes ending in `/`
/// that any WASI 0.2.x version satisfies.
const WASI_02: [&str; 6] = [
    "wasi:http/",
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
];
const KV_STORE: [&str; 2] = [
    "wasi:keyvalue/store@0.2.0-draft2",
    "wasi:keyvalue/batch@0.2.0-draft2",
];
const KV_ATOMICS: &str = "wasi:keyvalue/atomics@0.2.0-draft2";
const CONFIG: &str = "wasi:config/store@0.2.0-draft-2024-09-27";
const OUTBOUND_REDIS: &str = "fermyon:spin/redis@2.0.0";

impl Platform {
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "spin" => Platform::Spin,
            "akamai" => Platform::Akamai,
            other => bail!("unknown platform {other:?}: spin or akamai"),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Platform::Spin => "spin",
            Platform::Akamai => "akamai",
        }
    }

    /// `target/wws.wasm` stays the self-hosted build's name.
    pub fn output(self) -> &'static str {
        match self {
            Platform::Spin => "wws.wasm",
            Platform::Akamai => "wws-akamai.wasm",
        }
    }

    /// The counters plug's crate, as its `.wasm` is named.
    pub fn counters_plug(self) -> &'static str {
        match self {
            Platform::Spin => "wws_counters_kv",
            Platform::Akamai => "wws_counters_redis",
        }
    }

    /// Every host the build is deployed to, whose allow-list it must pass.
    pub fn hosts(self) -> &'static [Host] {
        match self {
            Platform::Spin => &[Host::SelfHostedSpin],
            Platform::Akamai => &[Host::AkamaiFunctions, Host::FermyonCloud],
        }
    }
}

impl Host {
    pub fn name(self) -> &'static str {
        match self {
            Host::SelfHostedSpin => "self-hosted Spin and wws-host",
            Host::AkamaiFunctions => "Akamai Functions",
            Host::FermyonCloud => "Fermyon Cloud",
        }
    }

    /// Neither managed platform publishes `wasi:keyvalue/atomics`; both
    /// give outbound Redis. `wasi:sockets` is left to self-hosted Spin.
    pub fn allows(self, name: &str) -> bool {
        let wasi_02 = |prefix: &str| {
            name.strip_prefix(prefix)
                .and_then(|rest| rest.split_once('@'))
                .is_some_and(|(_, version)| version.starts_with("0.2."))
        };
        let exact = KV_STORE.contains(&name) || name == CONFIG;
        let common = exact || WASI_02.iter().any(|prefix| wasi_02(prefix));
        match self {
            Host::SelfHostedSpin => common || name == KV_ATOMICS || wasi_02("wasi:sockets/"),
            Host::AkamaiFunctions | Host::FermyonCloud => common || name == OUTBOUND_REDIS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_hosted_spin_has_atomics_and_sockets_but_no_redis_here() {
        for name in [
            "wasi:http/outgoing-handler@0.2.4",
            "wasi:io/streams@0.2.9",
            "wasi:keyvalue/atomics@0.2.0-draft2",
            "wasi:config/store@0.2.0-draft-2024-09-27",
            "wasi:sockets/tcp@0.2.0",
        ] {
            assert!(Host::SelfHostedSpin.allows(name), "{name}");
        }
        assert!(!Host::SelfHostedSpin.allows(OUTBOUND_REDIS));
    }

    #[test]
    fn the_managed_edge_has_redis_but_no_atomics() {
        for platform in Platform::Akamai.hosts().iter().copied() {
            assert!(platform.allows(OUTBOUND_REDIS));
            assert!(platform.allows("wasi:keyvalue/store@0.2.0-draft2"));
            assert!(platform.allows("wasi:keyvalue/batch@0.2.0-draft2"));
            assert!(!platform.allows(KV_ATOMICS), "{platform:?}");
            assert!(!platform.allows("wasi:sockets/tcp@0.2.0"));
        }
    }

    #[test]
    fn other_versions_and_packages_are_refused_everywhere() {
        for platform in [
            Host::SelfHostedSpin,
            Host::AkamaiFunctions,
            Host::FermyonCloud,
        ] {
            for name in [
                "wasi:keyvalue/store@0.2.0-draft",
                "wasi:config/store@0.2.0-rc.1",
                "wasi:http/types@0.3.0",
                "fermyon:spin/key-value@2.0.0",
                "fermyon:spin/redis@3.0.0",
                "mylder:wws/auth@0.2.0",
                "mylder:wws/counters@0.2.0",
            ] {
                assert!(!platform.allows(name), "{platform:?} {name}");
            }
        }
    }
}
