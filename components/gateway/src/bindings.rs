//! The gateway's WIT bindings: the four core functions it imports
//! (`mylder:wws/gateway`), with the store and config interfaces shared from
//! `wws-guest`.

wit_bindgen::generate!({
    path: "../../wit",
    world: "mylder:wws/gateway",
    with: {
        "wasi:config/store@0.2.0-draft-2024-09-27": wws_guest::bindings::wasi::config::store,
        "wasi:keyvalue/store@0.2.0-draft2": wws_guest::bindings::wasi::keyvalue::store,
        "mylder:wws/counters@0.2.0": wws_guest::bindings::mylder::wws::counters,
    },
});
