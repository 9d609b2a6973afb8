//! The `routing` variable: any text is either refused or gives a table in
//! which every plan names only catalogued models, and every target of a plan
//! chosen by task type has room for the prompt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wws_router::fuzzing::plan::RouteError;
use wws_router::fuzzing::table::Table;

const TASKS: [&str; 6] = ["code", "Debugging", " reasoning ", "", "unknown", "CODE"];
const CONTEXTS: [u32; 7] = [0, 1, 4_000, 128_000, 128_001, 1_000_001, u32::MAX];

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(table) = Table::from_json(json) else {
        return;
    };
    let catalogue = table.catalogue();
    assert_eq!(catalogue.len(), table.models.len());
    let tasks = TASKS
        .iter()
        .copied()
        .chain(table.task_types.keys().map(String::as_str));
    for task in tasks.map(Some).chain([None]) {
        for context in CONTEXTS {
            match table.plan(task, None, context) {
                Ok(plan) => {
                    assert!(!plan.targets.is_empty(), "{plan:?}");
                    for target in plan.targets.iter().chain(&plan.long_context) {
                        assert!(catalogue.contains(target), "{target:?}");
                        assert!(target.context_window >= context, "{target:?}");
                    }
                }
                Err(RouteError::ContextTooLarge(tokens)) => assert_eq!(tokens, context),
                Err(error) => panic!("no model was asked for: {error:?}"),
            }
        }
    }
    for model in table
        .models
        .keys()
        .map(String::as_str)
        .chain(["", "gpt-4o"])
    {
        match table.plan(Some("code"), Some(model), 1) {
            Ok(plan) => assert_eq!(plan.targets[0].model, model),
            Err(error) => assert_eq!(error, RouteError::UnknownModel(model.to_string())),
        }
    }
});
