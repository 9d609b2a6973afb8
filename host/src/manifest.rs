//! The subset of Spin's application manifest (`spin.toml`, version 2) that
//! wws-host needs: variables, the HTTP component, its outbound allow-list,
//! key-value stores and variable templates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid manifest {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid manifest: {0}")]
    Invalid(String),
}

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub spin_manifest_version: u32,
    #[serde(default)]
    pub variables: BTreeMap<String, Variable>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, Component>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
}

#[derive(Debug, Deserialize)]
pub struct HttpTrigger {
    pub route: String,
    pub component: String,
}

#[derive(Debug, Deserialize)]
pub struct Component {
    pub source: String,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

/// The component that serves HTTP, resolved against the manifest's folder.
pub struct App {
    pub manifest: Manifest,
    pub dir: PathBuf,
    pub component_id: String,
}

impl App {
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let manifest = Self::parse(&text).map_err(|error| match error {
            ManifestError::Parse { source, .. } => ManifestError::Parse {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        })?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let component_id = manifest
            .trigger
            .http
            .first()
            .map(|trigger| trigger.component.clone())
            .ok_or_else(|| ManifestError::Invalid("no [[trigger.http]] defined".into()))?;
        if !manifest.component.contains_key(&component_id) {
            return Err(ManifestError::Invalid(format!(
                "trigger names component {component_id:?}, which is not defined"
            )));
        }
        Ok(Self {
            manifest,
            dir,
            component_id,
        })
    }

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|source| ManifestError::Parse {
            path: PathBuf::new(),
            source: Box::new(source),
        })?;
        if manifest.spin_manifest_version != 2 {
            return Err(ManifestError::Invalid(format!(
                "spin_manifest_version {} is not supported (expected 2)",
                manifest.spin_manifest_version
            )));
        }
        for (name, variable) in &manifest.variables {
            if !is_variable_name(name) {
                return Err(ManifestError::Invalid(format!(
                    "variable name {name:?} must use lowercase letters, digits and '_'"
                )));
            }
            if variable.required == variable.default.is_some() {
                return Err(ManifestError::Invalid(format!(
                    "variable {name:?} must have either `required = true` or a default"
                )));
            }
        }
        Ok(manifest)
    }

    pub fn component(&self) -> &Component {
        &self.manifest.component[&self.component_id]
    }

    pub fn source_path(&self) -> PathBuf {
        self.dir.join(&self.component().source)
    }
}

pub fn is_variable_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
key = { default = "", secret = true }
url = { required = true }
[[trigger.http]]
route = "/..."
component = "app"
[component.app]
source = "app.wasm"
allowed_outbound_hosts = ["{{ url }}"]
key_value_stores = ["default"]
[component.app.variables]
url = "{{ url }}"
"#;

    #[test]
    fn parses_variables_and_the_http_component() {
        let manifest = App::parse(MINIMAL).unwrap();
        assert!(manifest.variables["key"].secret);
        assert!(manifest.variables["url"].required);
        assert_eq!(manifest.component["app"].variables["url"], "{{ url }}");
    }

    #[test]
    fn rejects_variables_without_default_or_requirement() {
        let broken = MINIMAL.replace("url = { required = true }", "url = {}");
        let error = App::parse(&broken).unwrap_err().to_string();
        assert!(error.contains("\"url\""), "{error}");
        let bad_name = MINIMAL.replace("key = {", "Key = {");
        assert!(App::parse(&bad_name).is_err());
    }
}
