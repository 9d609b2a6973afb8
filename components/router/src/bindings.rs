//! The Model Router's WIT bindings: `mylder:wws/model-router`, with the
//! config interface shared from `wws-guest`.

wit_bindgen::generate!({
    path: "../../wit",
    world: "mylder:wws/model-router",
    with: {
        "wasi:config/store@0.2.0-draft-2024-09-27": wws_guest::bindings::wasi::config::store,
    },
});
