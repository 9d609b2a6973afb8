//! The subset of Spin's application manifest (`spin.toml`, version 2) that
//! wws-host needs: variables, the HTTP component, its outbound allow-list,
//! key-value stores and variable templates.

use std::path::{Path, PathBuf};

mod document;
mod spin_rules;

pub use document::{
    Application, BuildCommand, Component, HttpTrigger, Manifest, Triggers, Variable,
};
pub use spin_rules::check_variable_name;

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
        // spin_rules::check has made sure there is exactly one trigger.
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
        spin_rules::check(&manifest).map_err(ManifestError::Invalid)?;
        Ok(manifest)
    }

    pub fn component(&self) -> &Component {
        &self.manifest.component[&self.component_id]
    }

    pub fn source_path(&self) -> PathBuf {
        self.dir.join(&self.component().source)
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

    #[test]
    fn unknown_fields_routes_and_component_ids_are_refused() {
        let misspelt = MINIMAL.replace("[component.app.variables]", "[component.app.variabels]");
        assert!(App::parse(&misspelt).is_err());
        let unknown_top = format!("{MINIMAL}\n[extra]\nx = 1\n");
        assert!(App::parse(&unknown_top).is_err());
        let no_application = MINIMAL.replace("[application]\nname = \"t\"\n", "");
        assert!(App::parse(&no_application).is_err());
        let route = MINIMAL.replace("route = \"/...\"", "route = \"/api/...\"");
        assert!(refusal(&route).contains("use route = \"/...\""));
        let id = MINIMAL
            .replace("component = \"app\"", "component = \"my_app\"")
            .replace("[component.app", "[component.my_app");
        assert!(
            refusal(&id).contains("must be kebab-case"),
            "{}",
            refusal(&id)
        );
        let build = MINIMAL.replace(
            "key_value_stores = [\"default\"]",
            "key_value_stores = [\"default\"]\n[component.app.build]\ncommand = \"make\"\nwatch = [\"src/**\"]",
        );
        assert!(App::parse(&build).is_ok());
    }

    #[test]
    fn snake_case_words_must_start_with_a_letter() {
        let manifest = MINIMAL.replace("key = {", "key_2 = {");
        assert!(refusal(&manifest).contains("words must start with an ASCII letter"));
    }

    const FORMAT_HELP_FOR_TESTS: &str = "Hosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each.\nIf you intended to allow all outbound networking, you can use '*://*:*' - this will obviate all network sandboxing.";
}
