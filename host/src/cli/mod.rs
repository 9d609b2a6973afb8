//! The command line's presentation: the start-up banner and `check`.

pub mod banner;
pub mod check;
