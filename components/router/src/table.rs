//! The routing table: which models exist, where they run, how large a prompt
//! each takes, and which task types go where. The seed's table is the
//! default; the `routing` variable replaces any part of it:
//!
//! ```json
//! {"models": {"glm-4.6": {"provider": "fallback", "context_window": 200000}},
//!  "routes": {"code": ["hf:deepseek-ai/DeepSeek-V3", "glm-4.6"]},
//!  "long_context": ["glm-4-long"],
//!  "task_types": {"code": "code", "implementation": "code", "debugging": "code"},
//!  "default_route": "reasoning"}
//! ```
//!
//! `models` entries are added to (or replace) the seed's; the other keys
//! replace the seed's value when present.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Model {
    pub provider: String,
    pub context_window: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub models: BTreeMap<String, Model>,
    /// Route name -> model ids, tried in order.
    pub routes: BTreeMap<String, Vec<String>>,
    /// Models for prompts too long for a route's own models.
    pub long_context: Vec<String>,
    /// Task type (lower case) -> route name.
    pub task_types: BTreeMap<String, String>,
    pub default_route: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TableError {
    #[error("routing is not valid JSON of the documented shape: {0}")]
    Shape(String),
    #[error("routing names model {0:?}, which is not in \"models\"")]
    UnknownModel(String),
    #[error("routing names route {0:?}, which is not in \"routes\"")]
    UnknownRoute(String),
    #[error("routing model {0:?} names a provider other than \"primary\" or \"fallback\"")]
    UnknownProvider(String),
}

/// The context window the seed assumes for every standard model.
const STANDARD_CONTEXT: u32 = 128_000;
const LONG_CONTEXT: u32 = 1_000_000;

impl Default for Table {
    fn default() -> Self {
        let model = |provider: &str, context_window| Model {
            provider: provider.into(),
            context_window,
        };
        let names = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect::<Vec<_>>();
        Self {
            models: BTreeMap::from([
                (
                    "hf:deepseek-ai/DeepSeek-V3".into(),
                    model("primary", STANDARD_CONTEXT),
                ),
                (
                    "hf:moonshotai/Kimi-K2-Thinking".into(),
                    model("primary", STANDARD_CONTEXT),
                ),
                ("glm-4-flash".into(), model("fallback", STANDARD_CONTEXT)),
                ("glm-4-plus".into(), model("fallback", STANDARD_CONTEXT)),
                ("glm-4-long".into(), model("fallback", LONG_CONTEXT)),
            ]),
            routes: BTreeMap::from([
                (
                    "code".into(),
                    names(&["hf:deepseek-ai/DeepSeek-V3", "glm-4-flash"]),
                ),
                (
                    "reasoning".into(),
                    names(&["hf:moonshotai/Kimi-K2-Thinking", "glm-4-plus"]),
                ),
            ]),
            long_context: names(&["glm-4-long"]),
            task_types: ["code", "implementation", "debugging"]
                .into_iter()
                .map(|task| (task.to_string(), "code".to_string()))
                .collect(),
            default_route: "reasoning".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Overrides {
    #[serde(default)]
    models: BTreeMap<String, Model>,
    routes: Option<BTreeMap<String, Vec<String>>>,
    long_context: Option<Vec<String>>,
    task_types: Option<BTreeMap<String, String>>,
    default_route: Option<String>,
}

impl Table {
    pub fn from_json(json: &str) -> Result<Self, TableError> {
        let overrides: Overrides =
            serde_json::from_str(json).map_err(|error| TableError::Shape(error.to_string()))?;
        let mut table = Table::default();
        table.models.extend(overrides.models);
        if let Some(routes) = overrides.routes {
            table.routes = routes;
        }
        if let Some(long_context) = overrides.long_context {
            table.long_context = long_context;
        }
        if let Some(task_types) = overrides.task_types {
            table.task_types = task_types
                .into_iter()
                .map(|(task, route)| (task.to_ascii_lowercase(), route))
                .collect();
        }
        if let Some(default_route) = overrides.default_route {
            table.default_route = default_route;
        }
        table.validate()?;
        Ok(table)
    }

    /// Every name a route, task type or the long-context list uses exists.
    fn validate(&self) -> Result<(), TableError> {
        let foreign = self
            .models
            .iter()
            .find(|(_, model)| !matches!(model.provider.as_str(), "primary" | "fallback"));
        if let Some((id, _)) = foreign {
            return Err(TableError::UnknownProvider(id.clone()));
        }
        let named = self.routes.values().flatten().chain(&self.long_context);
        if let Some(missing) = named.into_iter().find(|id| !self.models.contains_key(*id)) {
            return Err(TableError::UnknownModel(missing.clone()));
        }
        let routes = self.task_types.values().chain([&self.default_route]);
        if let Some(missing) = routes.into_iter().find(|r| !self.routes.contains_key(*r)) {
            return Err(TableError::UnknownRoute(missing.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_table_is_consistent() {
        let table = Table::default();
        assert_eq!(table.validate(), Ok(()));
        assert_eq!(table.models.len(), 5);
    }

    #[test]
    fn overrides_add_models_and_replace_routes() {
        let table = Table::from_json(
            r#"{"models": {"glm-4.6": {"provider": "fallback", "context_window": 200000}},
                "routes": {"code": ["glm-4.6"], "reasoning": ["glm-4-plus"]}}"#,
        )
        .unwrap();
        assert_eq!(table.routes["code"], vec!["glm-4.6"]);
        assert_eq!(table.models.len(), 6);
        assert_eq!(table.long_context, vec!["glm-4-long"]);
    }

    #[test]
    fn refuses_tables_that_name_what_does_not_exist() {
        assert_eq!(
            Table::from_json(r#"{"routes": {"code": ["gpt-9"], "reasoning": []}}"#),
            Err(TableError::UnknownModel("gpt-9".into()))
        );
        assert_eq!(
            Table::from_json(r#"{"default_route": "poetry"}"#),
            Err(TableError::UnknownRoute("poetry".into()))
        );
        assert_eq!(
            Table::from_json(r#"{"models": {"x": {"provider": "openai", "context_window": 1}}}"#),
            Err(TableError::UnknownProvider("x".into()))
        );
        assert!(matches!(
            Table::from_json(r#"{"modles": {}}"#),
            Err(TableError::Shape(_))
        ));
    }
}
