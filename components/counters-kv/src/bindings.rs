//! The key-value counters plug's WIT bindings: `mylder:wws/counters-on-kv`,
//! with the store interfaces shared from `wws-guest`.

wit_bindgen::generate!({
    path: "../../wit",
    world: "mylder:wws/counters-on-kv",
    with: {
        "wasi:keyvalue/store@0.2.0-draft2": wws_guest::bindings::wasi::keyvalue::store,
        "wasi:keyvalue/atomics@0.2.0-draft2": wws_guest::bindings::wasi::keyvalue::atomics,
        "wasi:keyvalue/batch@0.2.0-draft2": wws_guest::bindings::wasi::keyvalue::batch,
    },
});
