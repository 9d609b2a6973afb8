//! What each platform provides and allows, as published: plain data.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::quotas::Quotas;

/// Where the component is meant to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Self-hosted Spin 4.x (`spin up`, the container image): every
    /// interface, no quotas beyond wws-host's own limits.
    #[default]
    Spin,
    /// Akamai Functions.
    Akamai,
    /// Fermyon Cloud.
    FermyonCloud,
}

/// The interfaces of the `spin-host` world (wit/worlds.wit) one by one, so a
/// platform can leave some out. WASI 0.2 and `wasi:http` are on every
/// platform and are linked regardless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostInterface {
    KeyValueStore,
    KeyValueAtomics,
    KeyValueBatch,
    Config,
    Redis,
}

impl HostInterface {
    pub const ALL: [Self; 5] = [
        Self::KeyValueStore,
        Self::KeyValueAtomics,
        Self::KeyValueBatch,
        Self::Config,
        Self::Redis,
    ];

    /// The import name, exactly as a component names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::KeyValueStore => "wasi:keyvalue/store@0.2.0-draft2",
            Self::KeyValueAtomics => "wasi:keyvalue/atomics@0.2.0-draft2",
            Self::KeyValueBatch => "wasi:keyvalue/batch@0.2.0-draft2",
            Self::Config => "wasi:config/store@0.2.0-draft-2024-09-27",
            Self::Redis => "fermyon:spin/redis@2.0.0",
        }
    }
}

/// What a platform provides and what it allows, as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformSpec {
    pub platform: Platform,
    /// The name operators know it by, for messages.
    pub title: &'static str,
    pub interfaces: &'static [HostInterface],
    pub quotas: Quotas,
}

const SPIN: PlatformSpec = PlatformSpec {
    platform: Platform::Spin,
    title: "Spin",
    interfaces: &HostInterface::ALL,
    quotas: Quotas::NONE,
};

/// Neither managed edge has key-value atomics: their key-value store is
/// a plain store with get, set, delete, exists, list and batches.
const EDGE_INTERFACES: &[HostInterface] = &[
    HostInterface::KeyValueStore,
    HostInterface::KeyValueBatch,
    HostInterface::Config,
    HostInterface::Redis,
];

/// Akamai Functions' published limits. "KB" and "MB" are taken as decimal
/// units, the stricter reading, so an app that passes here passes there.
const AKAMAI: PlatformSpec = PlatformSpec {
    platform: Platform::Akamai,
    title: "Akamai Functions",
    interfaces: EDGE_INTERFACES,
    quotas: Quotas {
        kv_key_bytes: Some(8_000),
        kv_value_bytes: Some(1_000_000),
        kv_reads_per_second: Some(1_000),
        kv_writes_per_second: Some(50),
        execution_memory_bytes: Some(128 << 20),
        handler_duration: Some(Duration::from_secs(30)),
        body_bytes: Some(10 << 20),
        requests_per_second: None,
    },
};

/// Fermyon Cloud's published limits (nothing is published for its memory
/// or key-value rates, so those stay unlimited here).
const FERMYON_CLOUD: PlatformSpec = PlatformSpec {
    platform: Platform::FermyonCloud,
    title: "Fermyon Cloud",
    interfaces: EDGE_INTERFACES,
    quotas: Quotas {
        kv_key_bytes: Some(255),
        kv_value_bytes: None,
        kv_reads_per_second: None,
        kv_writes_per_second: None,
        execution_memory_bytes: None,
        handler_duration: Some(Duration::from_secs(30)),
        body_bytes: Some(10_000_000),
        requests_per_second: Some(1_000),
    },
};

impl Platform {
    pub const ALL: [Self; 3] = [Self::Spin, Self::Akamai, Self::FermyonCloud];

    pub fn spec(self) -> &'static PlatformSpec {
        match self {
            Self::Spin => &SPIN,
            Self::Akamai => &AKAMAI,
            Self::FermyonCloud => &FERMYON_CLOUD,
        }
    }

    /// The `--platform` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Spin => "spin",
            Self::Akamai => "akamai",
            Self::FermyonCloud => "fermyon-cloud",
        }
    }

    pub fn provides(self, interface: HostInterface) -> bool {
        self.spec().interfaces.contains(&interface)
    }

    /// The first of `imports` that is a host interface this platform does
    /// not provide: the component would not start there.
    pub fn first_missing<'a>(self, imports: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
        imports.into_iter().find(|import| {
            HostInterface::ALL
                .iter()
                .any(|interface| interface.name() == *import && !self.provides(*interface))
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform {0:?}: expected spin, akamai or fermyon-cloud")]
pub struct UnknownPlatform(String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|platform| platform.name() == text)
            .ok_or_else(|| UnknownPlatform(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for platform in Platform::ALL {
            assert_eq!(platform.name().parse::<Platform>(), Ok(platform));
        }
        assert!("akamai-functions".parse::<Platform>().is_err());
        assert_eq!(Platform::default(), Platform::Spin);
    }

    #[test]
    fn only_spin_has_key_value_atomics() {
        assert!(Platform::Spin.provides(HostInterface::KeyValueAtomics));
        for platform in [Platform::Akamai, Platform::FermyonCloud] {
            assert!(!platform.provides(HostInterface::KeyValueAtomics));
            for kept in [
                HostInterface::KeyValueStore,
                HostInterface::KeyValueBatch,
                HostInterface::Config,
                HostInterface::Redis,
            ] {
                assert!(platform.provides(kept), "{platform} lacks {kept:?}");
            }
        }
    }

    #[test]
    fn the_missing_import_is_named() {
        let imports = [
            "wasi:http/outgoing-handler@0.2.0",
            "wasi:keyvalue/store@0.2.0-draft2",
            "wasi:keyvalue/atomics@0.2.0-draft2",
        ];
        assert_eq!(Platform::Spin.first_missing(imports), None);
        assert_eq!(
            Platform::Akamai.first_missing(imports),
            Some("wasi:keyvalue/atomics@0.2.0-draft2")
        );
        assert_eq!(
            Platform::FermyonCloud.first_missing(["fermyon:spin/redis@2.0.0"]),
            None
        );
    }

    #[test]
    fn quotas_are_the_published_ones() {
        let akamai = Platform::Akamai.spec().quotas;
        assert_eq!(akamai.kv_reads_per_second, Some(1_000));
        assert_eq!(akamai.kv_writes_per_second, Some(50));
        assert_eq!(akamai.execution_memory_bytes, Some(134_217_728));
        assert_eq!(akamai.handler_duration, Some(Duration::from_secs(30)));
        let fermyon = Platform::FermyonCloud.spec().quotas;
        assert_eq!(fermyon.kv_key_bytes, Some(255));
        assert_eq!(fermyon.handler_duration, Some(Duration::from_secs(30)));
        assert_eq!(Platform::Spin.spec().quotas, Quotas::NONE);
        assert!(!Quotas::NONE.any());
    }

    /// Every interface of the `spin-host` world is listed here, so one added
    /// to the world is not silently left unlinked on every platform.
    #[test]
    fn the_interfaces_are_the_spin_host_worlds() {
        let worlds = include_str!("../../../wit/worlds.wit");
        let start = worlds.find("world spin-host {").expect("spin-host world");
        let body = &worlds[start..];
        let body = &body[..body.find('}').expect("end of the world")];
        let mut imported: Vec<&str> = body
            .lines()
            .filter_map(|line| line.trim().strip_prefix("import "))
            .map(|name| name.trim_end_matches(';').trim())
            .collect();
        imported.sort_unstable();
        let mut listed: Vec<&str> = HostInterface::ALL.iter().map(|i| i.name()).collect();
        listed.sort_unstable();
        assert_eq!(imported, listed);
    }
}
