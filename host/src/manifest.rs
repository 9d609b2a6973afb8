//! The subset of Spin's application manifest (`spin.toml`, version 2) that
//! wws-host needs: variables, the HTTP component, its outbound allow-list,
//! key-value stores and variable templates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::allowed_hosts::{AllowedHost, refuse_allow_all_keyword};
use crate::template::Template;

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
        check_by_spin_rules(&manifest).map_err(ManifestError::Invalid)?;
        Ok(manifest)
    }

    pub fn component(&self) -> &Component {
        &self.manifest.component[&self.component_id]
    }

    pub fn source_path(&self) -> PathBuf {
        self.dir.join(&self.component().source)
    }
}

/// What `spin up` checks when it loads a manifest, before any value is
/// supplied: variable declarations, the component's variable templates, and
/// every `allowed_outbound_hosts` entry that its variables' defaults resolve
/// (an entry whose variables lack a default is checked once resolved).
fn check_by_spin_rules(manifest: &Manifest) -> Result<(), String> {
    for (name, variable) in &manifest.variables {
        check_variable_name(name)?;
        if variable.required == variable.default.is_some() {
            return Err(format!(
                "variable {name:?}: must be `required` OR have a `default`"
            ));
        }
    }
    for (id, component) in &manifest.component {
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
        None
    };
    match reason {
        Some(reason) => Err(format!("invalid variable name: {name:?}: {reason}")),
        None => Ok(()),
    }
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

    fn refusal(manifest: &str) -> String {
        App::parse(manifest).unwrap_err().to_string()
    }

    #[test]
    fn variables_must_be_required_or_have_a_default_not_both() {
        let both = MINIMAL.replace(
            "url = { required = true }",
            "url = { required = true, default = \"x\" }",
        );
        assert!(refusal(&both).contains("must be `required` OR have a `default`"));
    }

    #[test]
    fn variable_names_follow_spins_rules() {
        for (name, reason) in [
            ("Key", "invalid character 'K'"),
            ("key-2", "invalid character '-'"),
            ("2key", "must start with a lowercase ASCII letter"),
            ("key_", "must end with a lowercase ASCII letter or digit"),
            (
                "my__key",
                "must not contain multiple consecutive underscores",
            ),
        ] {
            let manifest = MINIMAL.replace("key = {", &format!("{name} = {{"));
            let error = refusal(&manifest);
            assert!(
                error.contains(&format!("invalid variable name: {name:?}: {reason}")),
                "{error}"
            );
        }
        let component_name = MINIMAL.replace("url = \"{{ url }}\"\n", "Url = \"{{ url }}\"\n");
        assert!(refusal(&component_name).contains("invalid variable name: \"Url\""));
    }

    #[test]
    fn component_templates_must_name_declared_variables_and_close() {
        let unknown = MINIMAL.replace("url = \"{{ url }}\"\n", "url = \"{{ nope }}\"\n");
        assert!(refusal(&unknown).contains("invalid variable template: unknown variable \"nope\""));
        let unmatched = MINIMAL.replace("url = \"{{ url }}\"\n", "url = \"{{ url\"\n");
        assert!(refusal(&unmatched).contains("unmatched '{{'"));
    }

    #[test]
    fn allowed_hosts_are_checked_with_the_defaults_when_loaded() {
        let empty_default =
            MINIMAL.replace("url = { required = true }", "url = { default = \"\" }");
        assert_eq!(
            refusal(&empty_default),
            "invalid manifest: Failed to load component `app`: `allowed_outbound_hosts` is malformed: \
             using default variable value(s) with template \"{{ url }}\" results in invalid config \"\": \
             \"\" is not an allowed outbound host format.\n".to_string()
                + FORMAT_HELP_FOR_TESTS
        );
        let path_default = MINIMAL.replace(
            "url = { required = true }",
            "url = { default = \"https://api.synthetic.new/openai/v1\" }",
        );
        assert!(refusal(&path_default).contains("must not include a path"));
        let bad_scheme = MINIMAL.replace(
            "url = { required = true }",
            "url = { default = \"api.z.ai\" }",
        );
        assert!(refusal(&bad_scheme).contains("does not contain a scheme"));
        // Without a default Spin cannot check the entry when loading.
        assert!(App::parse(MINIMAL).is_ok());
        let valid_default = MINIMAL.replace(
            "url = { required = true }",
            "url = { default = \"http://self\" }",
        );
        assert!(App::parse(&valid_default).is_ok());
        let literal = MINIMAL.replace("[\"{{ url }}\"]", "[\"https://api.z.ai:443/v4\"]");
        assert!(refusal(&literal).contains("has a path but is not allowed to"));
    }

    const FORMAT_HELP_FOR_TESTS: &str = "Hosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each.\nIf you intended to allow all outbound networking, you can use '*://*:*' - this will obviate all network sandboxing.";
}
