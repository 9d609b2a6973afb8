//! What may change a piped body on its way to the client.

use std::borrow::Cow;

/// Sees each chunk of a piped body and decides what reaches the client.
pub trait Filter {
    fn pass<'a>(&mut self, chunk: &'a [u8]) -> Cow<'a, [u8]>;

    /// True once nothing more may pass: the body is then ended early
    /// (a token budget that ran out mid-stream).
    fn is_finished(&self) -> bool {
        false
    }
}

/// Forwards every byte as it came.
pub struct Unchanged;

impl Filter for Unchanged {
    fn pass<'a>(&mut self, chunk: &'a [u8]) -> Cow<'a, [u8]> {
        Cow::Borrowed(chunk)
    }
}
