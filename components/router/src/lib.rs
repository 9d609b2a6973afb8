//! Model Router component: WIT glue around [`table`].

mod table;

wit_bindgen::generate!({
    path: "../../wit",
    world: "mylder:wws/model-router",
});

use exports::mylder::wws::router::{Guest, Plan, RouteError, RouteRequest, Target};

struct ModelRouter;

impl Guest for ModelRouter {
    fn route(request: RouteRequest) -> Result<Plan, RouteError> {
        let plan = table::plan(
            request.task_type.as_deref(),
            request.model.as_deref(),
            request.context_tokens,
        )
        .map_err(|table::UnknownModel(model)| RouteError::UnknownModel(model))?;
        Ok(Plan {
            targets: plan.targets.into_iter().map(to_wit).collect(),
            reason: plan.reason,
        })
    }

    fn catalogue() -> Vec<Target> {
        table::CATALOGUE.iter().copied().map(to_wit).collect()
    }
}

fn to_wit(target: table::Target) -> Target {
    Target {
        provider: target.provider.as_str().to_string(),
        model: target.model.to_string(),
    }
}

export!(ModelRouter);
