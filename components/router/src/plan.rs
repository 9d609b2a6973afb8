//! Turning a request into an ordered plan over the routing [`Table`].

use crate::table::Table;

/// The model name that asks for routing by task.
pub const AUTO_MODEL: &str = "auto";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub provider: String,
    pub model: String,
    pub context_window: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    pub targets: Vec<Target>,
    pub long_context: Vec<Target>,
    pub reason: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RouteError {
    UnknownModel(String),
    ContextTooLarge(u32),
}

impl Table {
    fn target(&self, id: &str) -> Option<Target> {
        self.models.get(id).map(|model| Target {
            provider: model.provider.clone(),
            model: id.to_string(),
            context_window: model.context_window,
        })
    }

    fn targets<'a>(&self, ids: impl IntoIterator<Item = &'a String>) -> Vec<Target> {
        ids.into_iter().filter_map(|id| self.target(id)).collect()
    }

    pub fn catalogue(&self) -> Vec<Target> {
        self.targets(self.models.keys())
    }

    /// The plan for a request; see the README's "Routing and failover".
    pub fn plan(
        &self,
        task_type: Option<&str>,
        model: Option<&str>,
        context_tokens: u32,
    ) -> Result<Plan, RouteError> {
        let task = task_type
            .map(|task| task.trim().to_ascii_lowercase())
            .filter(|task| !task.is_empty());
        let mut route = task
            .as_ref()
            .and_then(|task| self.task_types.get(task))
            .unwrap_or(&self.default_route);
        // SDKs must name a model: `auto` asks for routing by task, and a
        // route's name for that route, each with its fallbacks.
        if let Some(model) = model.filter(|model| *model != AUTO_MODEL) {
            if let Some(target) = self.target(model) {
                return Ok(Plan {
                    targets: vec![target],
                    long_context: Vec::new(),
                    reason: format!("model {model} requested explicitly"),
                });
            }
            route = self
                .routes
                .get_key_value(model)
                .map(|(name, _)| name)
                .ok_or_else(|| RouteError::UnknownModel(model.to_string()))?;
        }
        let fits = |target: &Target| target.context_window >= context_tokens;
        let routed = self.targets(self.routes.get(route).into_iter().flatten());
        let long_context: Vec<Target> = self
            .targets(&self.long_context)
            .into_iter()
            .filter(|target| fits(target) && !routed.contains(target))
            .collect();
        let task_name = task.as_deref().unwrap_or("none");
        let (fitting, skipped): (Vec<Target>, Vec<Target>) = routed.into_iter().partition(fits);
        if !fitting.is_empty() {
            return Ok(Plan {
                targets: fitting,
                long_context,
                reason: format!("task {task_name} -> {route}"),
            });
        }
        if long_context.is_empty() {
            return Err(RouteError::ContextTooLarge(context_tokens));
        }
        let largest = skipped.iter().map(|t| t.context_window).max().unwrap_or(0);
        Ok(Plan {
            targets: long_context,
            long_context: Vec::new(),
            reason: format!(
                "task {task_name} -> {route}; long context: {context_tokens} tokens exceed {largest}"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(plan: &[Target]) -> Vec<&str> {
        plan.iter().map(|target| target.model.as_str()).collect()
    }

    #[test]
    fn code_tasks_go_to_deepseek_then_glm_flash() {
        for task in ["code", "implementation", " Debugging "] {
            let plan = Table::default().plan(Some(task), None, 1_000).unwrap();
            assert_eq!(
                models(&plan.targets),
                ["hf:deepseek-ai/DeepSeek-V3", "glm-4-flash"],
                "{task}"
            );
            assert_eq!(plan.targets[0].provider, "primary");
            assert_eq!(models(&plan.long_context), ["glm-4-long"]);
        }
    }

    #[test]
    fn everything_else_is_reasoning() {
        for task in [None, Some("planning"), Some("")] {
            let plan = Table::default().plan(task, None, 1_000).unwrap();
            assert_eq!(
                models(&plan.targets),
                ["hf:moonshotai/Kimi-K2-Thinking", "glm-4-plus"]
            );
        }
    }

    #[test]
    fn oversized_prompts_skip_to_the_long_context_model() {
        let table = Table::default();
        let plan = table.plan(Some("code"), None, 128_001).unwrap();
        assert_eq!(models(&plan.targets), ["glm-4-long"]);
        assert!(
            plan.reason.contains("128001 tokens exceed 128000"),
            "{}",
            plan.reason
        );
        let at_limit = table.plan(Some("code"), None, 128_000).unwrap();
        assert_eq!(at_limit.targets[0].model, "hf:deepseek-ai/DeepSeek-V3");
        assert_eq!(
            table.plan(None, None, 2_000_000),
            Err(RouteError::ContextTooLarge(2_000_000))
        );
    }

    #[test]
    fn a_target_that_fits_keeps_its_place() {
        let table = Table::from_json(
            r#"{"models": {"hf:moonshotai/Kimi-K2-Thinking": {"provider": "primary", "context_window": 256000}}}"#,
        )
        .unwrap();
        let plan = table.plan(None, None, 200_000).unwrap();
        assert_eq!(models(&plan.targets), ["hf:moonshotai/Kimi-K2-Thinking"]);
        assert_eq!(models(&plan.long_context), ["glm-4-long"]);
    }

    #[test]
    fn auto_and_route_names_are_routed_with_their_fallbacks() {
        let table = Table::default();
        let auto = table.plan(Some("code"), Some("auto"), 10).unwrap();
        assert_eq!(
            models(&auto.targets),
            ["hf:deepseek-ai/DeepSeek-V3", "glm-4-flash"]
        );
        let named = table.plan(None, Some("reasoning"), 10).unwrap();
        assert_eq!(
            models(&named.targets),
            ["hf:moonshotai/Kimi-K2-Thinking", "glm-4-plus"]
        );
        assert_eq!(
            table.plan(None, Some("nonsense"), 10),
            Err(RouteError::UnknownModel("nonsense".into()))
        );
    }

    #[test]
    fn explicit_models_must_be_in_the_catalogue() {
        let table = Table::default();
        let plan = table.plan(None, Some("glm-4-plus"), 10).unwrap();
        assert_eq!(models(&plan.targets), ["glm-4-plus"]);
        assert_eq!(
            table.plan(None, Some("gpt-4"), 10),
            Err(RouteError::UnknownModel("gpt-4".into()))
        );
        assert_eq!(table.catalogue().len(), 5);
    }
}
