//! The counters plugs' one piece of WIT glue: each plug generates its own
//! export bindings (its world differs by what it imports), so the
//! conversion between those and [`Counters`](super::Counters) is written
//! once here as a macro.

/// Implements a plug's `mylder:wws/counters` export on a [`Counters`]
/// backend: `export_counters!(Plug, bindings, open)`, where `open()`
/// returns `Result<impl Counters, String>` for the instance.
///
/// [`Counters`]: crate::kv::Counters
#[macro_export]
macro_rules! export_counters {
    ($plug:ident, $bindings:ident, $open:path) => {
        use $bindings::exports::mylder::wws::counters as wit_counters;
        use $crate::kv::Counters as _;

        impl wit_counters::Guest for $plug {
            fn add_then_read(
                additions: Vec<wit_counters::Addition>,
                keys: Vec<String>,
            ) -> Result<Vec<i64>, String> {
                let additions: Vec<$crate::kv::Addition> = additions
                    .into_iter()
                    .map(|addition| $crate::kv::Addition {
                        key: addition.key,
                        delta: addition.delta,
                        ttl_secs: addition.ttl_secs,
                    })
                    .collect();
                $open()?
                    .add_then_read(&additions, &keys)
                    .map_err(|error| error.to_string())
            }

            fn add(key: String, delta: i64, ttl_secs: u32) -> Result<i64, String> {
                $open()?
                    .add(&key, delta, ttl_secs)
                    .map_err(|error| error.to_string())
            }

            fn read(keys: Vec<String>) -> Result<Vec<i64>, String> {
                $open()?.read(&keys).map_err(|error| error.to_string())
            }

            fn claim(key: String, ttl_secs: u32) -> Result<bool, String> {
                $open()?
                    .claim(&key, ttl_secs)
                    .map_err(|error| error.to_string())
            }

            fn get(key: String) -> Result<Option<Vec<u8>>, String> {
                $open()?.record(&key).map_err(|error| error.to_string())
            }

            fn compare_and_set(
                key: String,
                expected: Option<Vec<u8>>,
                value: Vec<u8>,
                ttl_secs: u32,
            ) -> Result<bool, String> {
                $open()?
                    .compare_and_set(&key, expected.as_deref(), &value, ttl_secs)
                    .map_err(|error| error.to_string())
            }

            fn remove(keys: Vec<String>) -> Result<(), String> {
                $open()?.remove(&keys).map_err(|error| error.to_string())
            }

            fn forgets() -> bool {
                $open().is_ok_and(|counters| counters.forgets())
            }
        }

        $bindings::export!($plug with_types_in $bindings);
    };
}
