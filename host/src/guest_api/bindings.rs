//! Host-side bindings of Spin's key-value, configuration and outbound Redis
//! interfaces, generated from the project's own `wit/` so guest and host
//! share one definition.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "mylder:wws/spin-host",
    imports: { default: async | trappable },
    with: {
        "wasi:keyvalue/store.bucket": crate::guest_api::resources::KvBucket,
        "wasi:keyvalue/atomics.cas": crate::guest_api::resources::KvCas,
        "fermyon:spin/redis.connection": crate::guest_api::resources::RedisConnection,
    },
});
