//! The `wws-host` binary and the shipped configuration, as an operator meets
//! them, in one test binary.

mod cli;
mod container;
mod platform;
mod shipped_config;
mod support;
