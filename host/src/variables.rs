//! Variable resolution the way `spin up` does it: `--variable` overrides,
//! then `SPIN_VARIABLE_<NAME>` environment variables, then a `.env` file,
//! then the manifest default. A required variable with no value stops start-up.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::allowed_hosts::{AllowedHost, AllowedHosts};
use crate::manifest::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum VariableError {
    #[error("no provider resolved required variable {0:?}: set SPIN_VARIABLE_{upper} or pass --variable {0}=...", upper = .0.to_ascii_uppercase())]
    Missing(String),
    #[error("component variable {component_var:?} refers to undeclared variable {name:?}")]
    Undeclared { component_var: String, name: String },
    #[error("invalid template {0:?}")]
    Template(String),
    #[error("cannot read .env file: {0}")]
    DotEnv(String),
    /// Spin would refuse every outgoing request of the component; wws-host
    /// refuses to start instead, so the mistake shows before traffic does.
    #[error(
        "allowed_outbound_hosts entry {template:?} resolves to {shown}, which Spin refuses: {reason}"
    )]
    AllowedHost {
        template: String,
        shown: String,
        reason: String,
    },
}

/// Values supplied from outside the manifest, highest priority first.
#[derive(Default, Clone)]
pub struct Sources {
    pub overrides: HashMap<String, String>,
    pub environment: HashMap<String, String>,
    pub dotenv: HashMap<String, String>,
}

impl Sources {
    /// Reads `SPIN_VARIABLE_*` from the process and from `.env` in the
    /// working directory, where `spin up` reads it (not the manifest's folder).
    pub fn from_process(overrides: HashMap<String, String>) -> Result<Self, VariableError> {
        // Spin looks up exactly SPIN_VARIABLE_<NAME IN CAPITALS>; any other
        // spelling is not a variable there, so it is not one here either.
        // A variable that is not Unicode cannot be one of ours: skipped.
        let environment = std::env::vars_os()
            .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
            .filter_map(|(key, value)| Some((variable_name(&key)?, value)))
            .collect();
        let dotenv = match std::fs::read_to_string(".env") {
            Ok(text) => parse_dotenv(&text)?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(error) => return Err(VariableError::DotEnv(error.to_string())),
        };
        Ok(Self {
            overrides,
            environment,
            dotenv,
        })
    }

    fn lookup(&self, name: &str) -> Option<&String> {
        self.overrides
            .get(name)
            .or_else(|| self.environment.get(name))
            .or_else(|| self.dotenv.get(name))
    }
}

/// The variable a `SPIN_VARIABLE_<NAME>` key stands for, if it is one.
fn variable_name(key: &str) -> Option<String> {
    let name = key.strip_prefix("SPIN_VARIABLE_")?;
    let upper = !name.is_empty() && name.bytes().all(|b| !b.is_ascii_lowercase());
    upper.then(|| name.to_ascii_lowercase())
}

/// `.env` as Spin reads it: `KEY=value` lines (optionally `export KEY=...`,
/// quoted values, `#` comments); only `SPIN_VARIABLE_<NAME>` keys are
/// variables, and a line that is not `KEY=value` makes the file unusable,
/// as it does for Spin.
fn parse_dotenv(text: &str) -> Result<HashMap<String, String>, VariableError> {
    let mut values = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (key, value) = line.split_once('=').ok_or_else(|| {
            VariableError::DotEnv(format!("line {} is not KEY=value", number + 1))
        })?;
        let value = value.trim();
        let value = ['"', '\'']
            .iter()
            .find_map(|quote| value.strip_prefix(*quote)?.strip_suffix(*quote))
            .unwrap_or(value);
        if let Some(name) = variable_name(key.trim()) {
            values.insert(name, value.to_string());
        }
    }
    Ok(values)
}

/// Application variables after resolution.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    values: BTreeMap<String, String>,
    /// Variables declared `secret = true`, whose values are never shown.
    secrets: BTreeSet<String>,
}

impl Resolved {
    pub fn resolve(manifest: &Manifest, sources: &Sources) -> Result<Self, VariableError> {
        let mut values = BTreeMap::new();
        let mut secrets = BTreeSet::new();
        for (name, variable) in &manifest.variables {
            if variable.secret {
                secrets.insert(name.clone());
            }
            let value = sources
                .lookup(name)
                .cloned()
                .or_else(|| variable.default.clone())
                .ok_or_else(|| VariableError::Missing(name.clone()))?;
            values.insert(name.clone(), value);
        }
        Ok(Self { values, secrets })
    }

    /// Whether a template draws on a secret variable, so its expansion
    /// must never be printed.
    pub fn is_secret(&self, template: &str) -> bool {
        template.split("{{").skip(1).any(|after| {
            let name = after.split("}}").next().unwrap_or_default().trim();
            self.secrets.contains(name)
        })
    }

    /// Expands `{{ name }}` references; literal text passes through.
    pub fn expand(&self, template: &str, context: &str) -> Result<String, VariableError> {
        let mut output = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            output.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| VariableError::Template(template.to_string()))?;
            let name = after[..end].trim();
            let value = self
                .values
                .get(name)
                .ok_or_else(|| VariableError::Undeclared {
                    component_var: context.to_string(),
                    name: name.to_string(),
                })?;
            output.push_str(value);
            rest = &after[end + 2..];
        }
        output.push_str(rest);
        Ok(output)
    }

    /// The component's allow-list with the variables' values, each entry
    /// parsed by Spin's rules; a secret value is never quoted in the error.
    pub fn allowed_hosts(&self, templates: &[String]) -> Result<AllowedHosts, VariableError> {
        let mut rules = Vec::with_capacity(templates.len());
        for template in templates {
            let value = self.expand(template, "allowed_outbound_hosts")?;
            let rule = AllowedHost::parse(&value).map_err(|error| {
                // Spin's reasons quote the entry, so a secret one gets none.
                let (shown, reason) = if self.is_secret(template) {
                    (
                        "a secret value".into(),
                        "reason not shown, it quotes the value".into(),
                    )
                } else {
                    (format!("{value:?}"), error.to_string())
                };
                VariableError::AllowedHost {
                    template: template.clone(),
                    shown,
                    reason,
                }
            })?;
            rules.push(rule);
        }
        Ok(AllowedHosts::from(rules))
    }

    /// The component's variables, each template expanded.
    pub fn component_values(
        &self,
        templates: &BTreeMap<String, String>,
    ) -> Result<HashMap<String, String>, VariableError> {
        templates
            .iter()
            .map(|(name, template)| Ok((name.clone(), self.expand(template, name)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Variable;

    fn manifest(vars: &[(&str, Option<&str>)]) -> Manifest {
        let mut manifest: Manifest =
            toml::from_str("spin_manifest_version = 2\n[application]\nname = \"t\"").unwrap();
        for (name, default) in vars {
            manifest.variables.insert(
                name.to_string(),
                Variable {
                    description: None,
                    default: default.map(str::to_string),
                    required: default.is_none(),
                    secret: false,
                },
            );
        }
        manifest
    }

    #[test]
    fn priority_is_override_env_dotenv_default() {
        let manifest = manifest(&[
            ("a", Some("default")),
            ("b", Some("default")),
            ("c", Some("default")),
        ]);
        let sources = Sources {
            overrides: HashMap::from([("a".into(), "override".into())]),
            environment: HashMap::from([("a".into(), "env".into()), ("b".into(), "env".into())]),
            dotenv: parse_dotenv(
                "SPIN_VARIABLE_A=dot\nSPIN_VARIABLE_B=dot\n# comment\nexport SPIN_VARIABLE_C=\"dot\"\nC=other\n",
            )
            .unwrap(),
        };
        let resolved = Resolved::resolve(&manifest, &sources).unwrap();
        assert_eq!(
            resolved.expand("{{a}}/{{ b }}/{{c}}", "t").unwrap(),
            "override/env/dot"
        );
    }

    #[test]
    fn missing_required_variable_names_the_variable() {
        let error = Resolved::resolve(&manifest(&[("origin_url", None)]), &Sources::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("origin_url") && error.contains("SPIN_VARIABLE_ORIGIN_URL"),
            "{error}"
        );
    }

    #[test]
    fn templates_over_secret_variables_are_secret() {
        let mut manifest = manifest(&[("key", Some("k")), ("url", Some("u"))]);
        if let Some(key) = manifest.variables.get_mut("key") {
            key.secret = true;
        }
        let resolved = Resolved::resolve(&manifest, &Sources::default()).unwrap();
        assert!(resolved.is_secret("Bearer {{ key }}"));
        assert!(!resolved.is_secret("{{url}}/v1"));
        assert!(!resolved.is_secret("plain"));
    }

    #[test]
    fn templates_must_name_declared_variables() {
        let resolved =
            Resolved::resolve(&manifest(&[("a", Some("x"))]), &Sources::default()).unwrap();
        assert_eq!(
            resolved.expand("https://{{ a }}:1", "t").unwrap(),
            "https://x:1"
        );
        assert!(resolved.expand("{{ nope }}", "t").is_err());
        assert!(resolved.expand("{{ a", "t").is_err());
    }

    #[test]
    fn allowed_hosts_are_parsed_with_the_supplied_values() {
        let resolved = Resolved::resolve(
            &manifest(&[("origin_url", Some("http://self")), ("token", Some("t"))]),
            &Sources {
                overrides: HashMap::from([(
                    "origin_url".into(),
                    "https://vps.example:8443".into(),
                )]),
                ..Sources::default()
            },
        )
        .unwrap();
        let allowed = resolved
            .allowed_hosts(&["{{ origin_url }}".into()])
            .unwrap();
        assert!(allowed.allows("https", "vps.example", Some(8443)));
        let empty = Resolved::resolve(
            &manifest(&[("origin_url", Some("http://self"))]),
            &Sources {
                overrides: HashMap::from([("origin_url".into(), String::new())]),
                ..Sources::default()
            },
        )
        .unwrap();
        let error = empty
            .allowed_hosts(&["{{ origin_url }}".into()])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("allowed_outbound_hosts entry \"{{ origin_url }}\" resolves to \"\""),
            "{error}"
        );
    }

    #[test]
    fn a_secret_allowed_host_is_not_quoted() {
        let mut manifest = manifest(&[("redis_url", Some("redis://user:pw@host:6379/0"))]);
        if let Some(variable) = manifest.variables.get_mut("redis_url") {
            variable.secret = true;
        }
        let resolved = Resolved::resolve(&manifest, &Sources::default()).unwrap();
        let error = resolved
            .allowed_hosts(&["{{ redis_url }}".into()])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("a secret value") && !error.contains("pw"),
            "{error}"
        );
    }

    #[test]
    fn only_capitalised_spin_variable_keys_are_variables() {
        assert_eq!(
            variable_name("SPIN_VARIABLE_ORIGIN_URL").as_deref(),
            Some("origin_url")
        );
        assert_eq!(variable_name("SPIN_VARIABLE_origin_url"), None);
        assert_eq!(variable_name("ORIGIN_URL"), None);
        assert_eq!(variable_name("SPIN_VARIABLE_"), None);
        assert!(parse_dotenv("SPIN_VARIABLE_A=1\nnot a pair\n").is_err());
        let values = parse_dotenv("ORIGIN_URL=x\nspin_variable_a=y\n").unwrap();
        assert!(values.is_empty(), "{values:?}");
    }
}
