//! Operator purges: every entry under a path prefix.

use wws_guest::kv::{Kv, KvError};

use crate::key;

pub fn by_path_prefix(store: &impl Kv, path_prefix: &str) -> Result<u32, KvError> {
    let mut purged = 0;
    for stored in store.keys()? {
        if key::path_of(&stored).is_some_and(|path| path.starts_with(path_prefix)) {
            store.delete(&stored)?;
            purged += 1;
        }
    }
    Ok(purged)
}
