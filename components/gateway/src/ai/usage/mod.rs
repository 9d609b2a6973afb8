//! Reading the provider's token count from an answer on its way to the
//! client, so the Rate Limiter can charge what was actually used, and
//! judging whether a stream is whole enough to cache.

mod counts;
mod meter;
mod shape;
mod tap;

pub use counts::total_tokens;
pub use meter::Meter;
pub use shape::is_complete_stream;
pub use tap::UsageTap;
