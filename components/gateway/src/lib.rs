//! Gateway component: the HTTP entry of WWS.
//!
//! Every request passes the core functions in order — Auth Guard, Rate
//! Limiter, then (for AI routes) Model Router and Cache Manager — before it
//! reaches a provider or the origin. Each function is a separate component
//! imported through `mylder:wws`; this crate only sequences them and speaks
//! HTTP.

mod admin;
mod admission;
mod ai;
mod bindings;
mod cache_control;
mod caching;
mod config;
mod context;
mod dialect;
mod error;
mod filter;
mod head;
mod health;
mod inbound;
mod observe;
mod origin;
mod pipeline;
mod refusal;
mod reply;
mod timing;

use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::types::{IncomingRequest, ResponseOutparam};

struct Gateway;

impl Guest for Gateway {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        pipeline::handle(request, response_out);
        ai::key_pool::release();
        observe::provider_stats::flush();
        observe::access_log::write(observe::store_use::of_request());
    }
}

wasip2::http::proxy::export!(Gateway);

/// The pure parsers, for the fuzz targets in `fuzz/`, which build this crate
/// natively; the component exports nothing but `wasi:http/incoming-handler`.
#[cfg(not(target_family = "wasm"))]
#[doc(hidden)]
pub mod fuzzing {
    pub mod body {
        pub use crate::ai::body::{BodyError, ChatRequest};
    }
    pub mod cache_control {
        pub use crate::cache_control::CacheControl;
    }
    pub mod replay {
        pub use crate::ai::replay::{completion_to_stream, stream_to_completion};
    }
    pub mod sse {
        pub use crate::ai::sse::{EventSplitter, data};
    }
    pub mod usage {
        pub use crate::ai::usage::{UsageTap, total_tokens};
        pub use crate::dialect::Dialect;
        pub use crate::filter::Filter;
    }
}
