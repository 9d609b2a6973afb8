//! The command line's presentation: the start-up banner, `--platform`'s
//! lines and `check`.

pub mod banner;
pub mod check;
pub mod platform;
