//! What `execute` hands the guest: a Redis reply flattened into the flat
//! list of `redis-result`s, converted value by value as Spin 4.0.2 converts
//! it (`RedisResults` in `crates/factor-outbound-redis/src/host.rs`), so a
//! Lua script or `MGET` answers the guest the same on both hosts:
//!
//! | reply | result |
//! |---|---|
//! | nil | `nil` |
//! | integer | `int64` |
//! | boolean (RESP3) | `int64` 1 or 0 |
//! | bulk string | `binary` |
//! | double, big number (RESP3) | `binary`, the number as text |
//! | simple string | `status` |
//! | `OK` | `status("OK")` |
//! | array, set | each element in order, nested ones flattened too |
//! | map, attribute, verbatim string, push | refused with a type error |
//!
//! A refused reply fails the whole command (the guest gets `other` with
//! the error's text, as from Spin).

use redis::{ErrorKind, RedisError, Value};

use super::bindings::fermyon::spin::redis::RedisResult;

/// Spin's cap on what one host call may buffer for a guest
/// (`spin_world::MAX_HOST_BUFFERED_BYTES`).
pub const MAX_HOST_BUFFERED_BYTES: usize = 128 << 20;

pub fn flatten(reply: Value) -> Result<Vec<RedisResult>, RedisError> {
    let mut flat = Vec::new();
    append(&mut flat, reply)?;
    Ok(flat)
}

fn append(flat: &mut Vec<RedisResult>, value: Value) -> Result<(), RedisError> {
    let result = match value {
        Value::Array(items) | Value::Set(items) => {
            flat.reserve(items.len());
            return items.into_iter().try_for_each(|item| append(flat, item));
        }
        Value::Nil => RedisResult::Nil,
        Value::Int(number) => RedisResult::Int64(number),
        Value::Boolean(truth) => RedisResult::Int64(i64::from(truth)),
        Value::BulkString(bytes) => RedisResult::Binary(bytes),
        Value::Double(number) => RedisResult::Binary(number.to_string().into_bytes()),
        Value::BigNumber(number) => RedisResult::Binary(number.to_string().into_bytes()),
        Value::SimpleString(text) => RedisResult::Status(text),
        Value::Okay => RedisResult::Status("OK".to_string()),
        Value::Map(_) => return Err(unconvertible("Redis Map type is not supported")),
        Value::Attribute { .. } => {
            return Err(unconvertible("Redis Attribute type is not supported"));
        }
        Value::VerbatimString { .. } => {
            return Err(unconvertible(
                "Redis string with format attribute is not supported",
            ));
        }
        Value::Push { .. } => return Err(unconvertible("Redis Pub/Sub types are not supported")),
        // `query_async` already turns server errors in a reply into an
        // `Err`; one that got through is still an error, not a value.
        Value::ServerError(error) => {
            return Err(RedisError::from((
                ErrorKind::ResponseError,
                "Server error",
                format!("{error:?}"),
            )));
        }
    };
    flat.push(result);
    Ok(())
}

fn unconvertible(detail: &str) -> RedisError {
    RedisError::from((
        ErrorKind::TypeError,
        "Could not convert Redis response",
        detail.to_string(),
    ))
}

/// What the flattened reply costs the host to hold, counted as Spin counts
/// it against [`MAX_HOST_BUFFERED_BYTES`].
pub fn buffered_bytes(results: &[RedisResult]) -> usize {
    let element = std::mem::size_of::<RedisResult>();
    results
        .iter()
        .fold(std::mem::size_of::<Vec<RedisResult>>(), |total, result| {
            let payload = match result {
                RedisResult::Nil | RedisResult::Int64(_) => 0,
                RedisResult::Binary(bytes) => bytes.len(),
                RedisResult::Status(text) => text.len(),
            };
            total.saturating_add(element).saturating_add(payload)
        })
}

#[cfg(test)]
mod tests {
    use redis::VerbatimFormat;

    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    /// The generated type has `Debug` but not `PartialEq`.
    fn same(actual: Result<Vec<RedisResult>, RedisError>, expected: Vec<RedisResult>) {
        let actual = actual.expect("converts");
        assert_eq!(format!("{actual:?}"), format!("{expected:?}"));
    }

    #[test]
    fn scalars_convert_as_in_spin() {
        let reply = Value::Array(vec![
            Value::Nil,
            Value::Int(-7),
            Value::Boolean(true),
            Value::Boolean(false),
            bulk("v"),
            Value::Double(1.5),
            Value::SimpleString("QUEUED".into()),
            Value::Okay,
        ]);
        same(
            flatten(reply),
            vec![
                RedisResult::Nil,
                RedisResult::Int64(-7),
                RedisResult::Int64(1),
                RedisResult::Int64(0),
                RedisResult::Binary(b"v".to_vec()),
                RedisResult::Binary(b"1.5".to_vec()),
                RedisResult::Status("QUEUED".into()),
                RedisResult::Status("OK".into()),
            ],
        );
        same(flatten(Value::Int(3)), vec![RedisResult::Int64(3)]);
        same(
            flatten(Value::BigNumber(
                "123456789012345678901234567890".parse().expect("big"),
            )),
            vec![RedisResult::Binary(
                b"123456789012345678901234567890".to_vec(),
            )],
        );
    }

    #[test]
    fn nested_arrays_and_sets_flatten_in_order() {
        let reply = Value::Array(vec![
            bulk("a"),
            Value::Array(vec![Value::Int(1), Value::Array(vec![bulk("b")])]),
            Value::Set(vec![Value::Nil]),
            Value::Array(vec![]),
        ]);
        same(
            flatten(reply),
            vec![
                RedisResult::Binary(b"a".to_vec()),
                RedisResult::Int64(1),
                RedisResult::Binary(b"b".to_vec()),
                RedisResult::Nil,
            ],
        );
        same(flatten(Value::Array(vec![])), vec![]);
    }

    #[test]
    fn maps_and_other_resp3_shapes_are_type_errors() {
        let refused = [
            Value::Map(vec![(bulk("k"), bulk("v"))]),
            Value::Attribute {
                data: Box::new(bulk("v")),
                attributes: vec![],
            },
            Value::VerbatimString {
                format: VerbatimFormat::Text,
                text: "t".into(),
            },
            // Anywhere in the reply, even after values that converted.
            Value::Array(vec![bulk("ok"), Value::Map(vec![])]),
        ];
        for reply in refused {
            let error = flatten(reply).expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::TypeError);
            assert!(error.to_string().contains("not supported"), "{error}");
        }
    }

    #[test]
    fn buffered_bytes_count_payloads_and_elements() {
        let element = std::mem::size_of::<RedisResult>();
        let empty = std::mem::size_of::<Vec<RedisResult>>();
        assert_eq!(buffered_bytes(&[]), empty);
        assert_eq!(
            buffered_bytes(&[
                RedisResult::Nil,
                RedisResult::Binary(vec![0; 10]),
                RedisResult::Status("OK".into()),
            ]),
            empty + 3 * element + 12
        );
    }
}
