//! The Redis counters plug's WIT bindings: `mylder:wws/counters-on-redis`,
//! with Spin's outbound Redis and the config interface shared from
//! `wws-guest`.

wit_bindgen::generate!({
    path: "../../wit",
    world: "mylder:wws/counters-on-redis",
    with: {
        "fermyon:spin/redis@2.0.0": wws_guest::bindings::fermyon::spin::redis,
        "wasi:config/store@0.2.0-draft-2024-09-27": wws_guest::bindings::wasi::config::store,
    },
});
