//! Model Router component: WIT glue around [`table`] and [`plan`].

mod bindings;
mod plan;
mod table;

/// The `routing` parser and planner, for the fuzz targets in `fuzz/`, which
/// build this crate natively; the component exports nothing but its WIT world.
#[cfg(not(target_family = "wasm"))]
#[doc(hidden)]
pub mod fuzzing {
    pub mod plan {
        pub use crate::plan::{Plan, RouteError, Target};
    }
    pub mod table {
        pub use crate::table::{Model, Table, TableError};
    }
}

use bindings::exports::mylder::wws::router::{Guest, Plan, RouteError, RouteRequest, Target};
use table::Table;
use wws_guest::config;

/// The configured table; an invalid `routing` is logged and the seed's used,
/// so a typo cannot take the AI routes down.
fn table() -> Table {
    config::parsed("routing", Table::from_json).unwrap_or_default()
}

struct ModelRouter;

impl Guest for ModelRouter {
    fn route(request: RouteRequest) -> Result<Plan, RouteError> {
        let plan = table()
            .plan(
                request.task_type.as_deref(),
                request.model.as_deref(),
                request.context_tokens,
            )
            .map_err(|error| match error {
                plan::RouteError::UnknownModel(model) => RouteError::UnknownModel(model),
                plan::RouteError::ContextTooLarge(tokens) => RouteError::ContextTooLarge(tokens),
            })?;
        Ok(Plan {
            targets: plan.targets.into_iter().map(to_wit).collect(),
            long_context: plan.long_context.into_iter().map(to_wit).collect(),
            reason: plan.reason,
        })
    }

    fn catalogue() -> Vec<Target> {
        table().catalogue().into_iter().map(to_wit).collect()
    }

    fn settings_problems() -> Vec<String> {
        table();
        config::problems()
    }
}

fn to_wit(target: plan::Target) -> Target {
    Target {
        provider: target.provider,
        model: target.model,
        context_window: target.context_window,
    }
}

bindings::export!(ModelRouter with_types_in bindings);
