//! The seed's routing table: synthetic.new first, z.ai as the fallback, and
//! z.ai's long-context model when a prompt is too large for the others.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Primary,
    Fallback,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Primary => "primary",
            Provider::Fallback => "fallback",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub provider: Provider,
    pub model: &'static str,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    pub targets: Vec<Target>,
    pub reason: String,
}

#[derive(Debug, PartialEq, Eq)]
pub struct UnknownModel(pub String);

const PRIMARY_CODE: Target = Target {
    provider: Provider::Primary,
    model: "hf:deepseek-ai/DeepSeek-V3",
};
const PRIMARY_REASONING: Target = Target {
    provider: Provider::Primary,
    model: "hf:moonshotai/Kimi-K2-Thinking",
};
const FALLBACK_CODE: Target = Target {
    provider: Provider::Fallback,
    model: "glm-4-flash",
};
const FALLBACK_REASONING: Target = Target {
    provider: Provider::Fallback,
    model: "glm-4-plus",
};
const FALLBACK_LONG_CONTEXT: Target = Target {
    provider: Provider::Fallback,
    model: "glm-4-long",
};

pub const CATALOGUE: [Target; 5] = [
    PRIMARY_CODE,
    PRIMARY_REASONING,
    FALLBACK_CODE,
    FALLBACK_REASONING,
    FALLBACK_LONG_CONTEXT,
];

/// Largest prompt, in tokens, the primary and the regular fallback models take.
pub const STANDARD_CONTEXT_TOKENS: u32 = 128_000;

/// Task types the seed sends to code models; all others go to reasoning.
const CODE_TASKS: [&str; 3] = ["code", "implementation", "debugging"];

pub fn plan(
    task_type: Option<&str>,
    model: Option<&str>,
    context_tokens: u32,
) -> Result<Plan, UnknownModel> {
    if let Some(model) = model {
        let target = CATALOGUE
            .iter()
            .find(|target| target.model == model)
            .ok_or_else(|| UnknownModel(model.to_string()))?;
        return Ok(Plan {
            targets: vec![*target],
            reason: format!("model {model} requested explicitly"),
        });
    }
    if context_tokens > STANDARD_CONTEXT_TOKENS {
        return Ok(Plan {
            targets: vec![FALLBACK_LONG_CONTEXT],
            reason: format!(
                "long context: {context_tokens} tokens exceed {STANDARD_CONTEXT_TOKENS}"
            ),
        });
    }
    let task = task_type.unwrap_or("reasoning").trim().to_ascii_lowercase();
    let (category, targets) = if CODE_TASKS.contains(&task.as_str()) {
        ("code", vec![PRIMARY_CODE, FALLBACK_CODE])
    } else {
        ("reasoning", vec![PRIMARY_REASONING, FALLBACK_REASONING])
    };
    Ok(Plan {
        targets,
        reason: format!("task {task} -> {category}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_tasks_go_to_deepseek_then_glm_flash() {
        for task in ["code", "implementation", "Debugging"] {
            let plan = plan(Some(task), None, 1_000).unwrap();
            assert_eq!(plan.targets, vec![PRIMARY_CODE, FALLBACK_CODE], "{task}");
        }
    }

    #[test]
    fn everything_else_is_reasoning() {
        for task in [None, Some("planning"), Some("")] {
            let plan = plan(task, None, 1_000).unwrap();
            assert_eq!(plan.targets, vec![PRIMARY_REASONING, FALLBACK_REASONING]);
        }
    }

    #[test]
    fn oversized_prompts_skip_to_the_long_context_model() {
        let plan = plan(Some("code"), None, STANDARD_CONTEXT_TOKENS + 1).unwrap();
        assert_eq!(plan.targets, vec![FALLBACK_LONG_CONTEXT]);
        let at_limit = super::plan(Some("code"), None, STANDARD_CONTEXT_TOKENS).unwrap();
        assert_eq!(at_limit.targets[0], PRIMARY_CODE);
    }

    #[test]
    fn explicit_models_must_be_in_the_catalogue() {
        let plan = plan(None, Some("glm-4-plus"), 10).unwrap();
        assert_eq!(plan.targets, vec![FALLBACK_REASONING]);
        assert_eq!(
            super::plan(None, Some("gpt-4"), 10),
            Err(UnknownModel("gpt-4".into()))
        );
    }
}
