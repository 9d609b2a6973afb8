//! Guest-side access to the host interfaces all WWS components share.
//!
//! Each component crate maps its world's `wasi:keyvalue` and `wasi:config`
//! imports onto [`bindings`] (wit-bindgen's `with:`), so the typed wrappers
//! here serve every component and the raw bindings are generated once.

pub mod client;
pub mod config;
pub mod deadline;
pub mod digest;
pub mod http;
pub mod kv;
pub mod path;
pub mod time;

/// Raw bindings to what a component may import: Spin's key-value,
/// configuration and outbound Redis interfaces, and the shared counters.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "mylder:wws/component-imports",
        generate_all,
    });
}
