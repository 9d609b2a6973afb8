//! Every manifest and runtime config the project ships loads under Spin's
//! rules with no variable set, as `spin up` (and every deploy) loads them:
//! a file that only wws-host accepted would fail a user after deploying.

use std::path::{Path, PathBuf};

use wws_host::manifest::App;
use wws_host::runtime_config::RuntimeConfig;
use wws_host::variables::{Resolved, Sources};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate sits in the workspace")
        .to_path_buf()
}

/// Every `.toml` under the repository that is not Cargo's or a build's.
fn shipped_toml_files() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![root()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)
            .expect("readable folder")
            .flatten()
        {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                let skipped = ["target", ".git", ".cargo", "node_modules", "fuzz"];
                if !skipped.contains(&name.as_str()) {
                    folders.push(path);
                }
            } else if name.ends_with(".toml")
                && name != "Cargo.toml"
                && name != "rust-toolchain.toml"
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_shipped_manifest_and_runtime_config_loads_by_spins_rules() {
    let files = shipped_toml_files();
    let mut manifests = 0;
    let mut runtime_configs = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable file");
        if text.contains("spin_manifest_version") {
            let app = App::load(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            // The edge manifest requires its Redis, as a deploy supplies it.
            let sources = Sources {
                overrides: [("redis_address".into(), "rediss://redis.example:6380".into())].into(),
                ..Sources::default()
            };
            let resolved = Resolved::resolve(&app.manifest, &sources)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            let component = app.component();
            resolved
                .allowed_hosts(&component.allowed_outbound_hosts)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            resolved
                .component_values(&component.variables)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            manifests += 1;
        } else {
            RuntimeConfig::load(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            runtime_configs += 1;
        }
    }
    assert!(
        manifests >= 2,
        "spin.toml or spin-akamai.toml was not found among {files:?}"
    );
    assert!(
        runtime_configs >= 3,
        "runtime configs missing from {files:?}"
    );
}
