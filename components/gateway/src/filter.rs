//! What may change a piped body on its way to the client.

use std::borrow::Cow;

/// Sees each chunk of a piped body and decides what reaches the client.
pub trait Filter {
    fn pass<'a>(&mut self, chunk: &'a [u8]) -> Cow<'a, [u8]>;
}

/// Forwards every byte as it came.
pub struct Unchanged;

impl Filter for Unchanged {
    fn pass<'a>(&mut self, chunk: &'a [u8]) -> Cow<'a, [u8]> {
        Cow::Borrowed(chunk)
    }
}
