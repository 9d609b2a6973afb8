//! The Lua scripts that make each counters operation one round trip, with
//! their arguments and replies. A script runs atomically in Redis, so an
//! add-then-read's reads see its additions and nothing else in between,
//! as the key-value plug's increments do.

use wws_guest::bindings::fermyon::spin::redis::{RedisParameter, RedisResult};
use wws_guest::kv::Addition;

/// KEYS: the additions' keys, then the keys read. ARGV: the number of
/// additions, then per addition delta and ttl (0 leaves the expiry alone),
/// as `ADD` takes them. Reply: `MGET`'s bulk strings, not Lua numbers:
/// those are doubles, inexact past 2^53, and callers pack two counts into
/// one value.
pub const ADD_THEN_READ: &str = r"
local additions = tonumber(ARGV[1])
for i = 1, additions do
  local key, ttl = KEYS[i], tonumber(ARGV[2 * i + 1])
  redis.call('INCRBY', key, ARGV[2 * i])
  if ttl > 0 and redis.call('TTL', key) == -1 then redis.call('EXPIRE', key, ttl) end
end
if #KEYS == additions then return {} end
return redis.call('MGET', unpack(KEYS, additions + 1))
";

/// KEYS: the counter. ARGV: delta, ttl (0 leaves the expiry alone).
pub const ADD: &str = r"
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return value
";

/// KEYS: the record. ARGV: whether one is expected (1/0), the expected
/// value, the new value, ttl (0: kept until removed).
pub const COMPARE_AND_SET: &str = r"
local current = redis.call('GET', KEYS[1])
local matches
if ARGV[1] == '1' then matches = (current == ARGV[2]) else matches = (current == false) end
if not matches then return 0 end
if tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
";

#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
#[error("unexpected reply from Redis to {0}")]
pub struct UnexpectedReply(pub &'static str);

fn text(value: impl ToString) -> RedisParameter {
    RedisParameter::Binary(value.to_string().into_bytes())
}

fn bytes(value: &[u8]) -> RedisParameter {
    RedisParameter::Binary(value.to_vec())
}

/// `EVAL script numkeys keys... args...`.
pub fn eval(script: &str, keys: &[&str], args: Vec<RedisParameter>) -> Vec<RedisParameter> {
    let mut parameters = vec![text(script), RedisParameter::Int64(to_i64(keys.len()))];
    parameters.extend(keys.iter().map(text));
    parameters.extend(args);
    parameters
}

pub fn add_then_read(additions: &[Addition], read: &[String]) -> Vec<RedisParameter> {
    let keys: Vec<&str> = additions
        .iter()
        .map(|addition| addition.key.as_str())
        .chain(read.iter().map(String::as_str))
        .collect();
    let mut args = vec![RedisParameter::Int64(to_i64(additions.len()))];
    args.extend(additions.iter().flat_map(|addition| {
        [
            RedisParameter::Int64(addition.delta),
            RedisParameter::Int64(i64::from(addition.ttl_secs)),
        ]
    }));
    eval(ADD_THEN_READ, &keys, args)
}

pub fn add(key: &str, delta: i64, ttl_secs: u32) -> Vec<RedisParameter> {
    let args = vec![
        RedisParameter::Int64(delta),
        RedisParameter::Int64(i64::from(ttl_secs)),
    ];
    eval(ADD, &[key], args)
}

pub fn compare_and_set(
    key: &str,
    expected: Option<&[u8]>,
    value: &[u8],
    ttl_secs: u32,
) -> Vec<RedisParameter> {
    let args = vec![
        text(u8::from(expected.is_some())),
        bytes(expected.unwrap_or_default()),
        bytes(value),
        RedisParameter::Int64(i64::from(ttl_secs)),
    ];
    eval(COMPARE_AND_SET, &[key], args)
}

/// `SET key 1 NX [EX ttl]`: set only by the first caller.
pub fn claim(key: &str, ttl_secs: u32) -> Vec<RedisParameter> {
    let mut parameters = vec![text(key), text(1), text("NX")];
    if ttl_secs > 0 {
        parameters.extend([text("EX"), RedisParameter::Int64(i64::from(ttl_secs))]);
    }
    parameters
}

pub fn keys(keys: &[String]) -> Vec<RedisParameter> {
    keys.iter().map(text).collect()
}

fn to_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn integer(result: &RedisResult) -> Option<i64> {
    match result {
        RedisResult::Int64(value) => Some(*value),
        RedisResult::Binary(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        RedisResult::Status(text) => text.parse().ok(),
        RedisResult::Nil => None,
    }
}

pub fn single_integer(reply: &[RedisResult], what: &'static str) -> Result<i64, UnexpectedReply> {
    match reply {
        [one] => integer(one).ok_or(UnexpectedReply(what)),
        _ => Err(UnexpectedReply(what)),
    }
}

/// `MGET`'s values (also `ADD_THEN_READ`'s) as counters: missing keys are
/// zero.
pub fn counters(reply: &[RedisResult], wanted: usize) -> Result<Vec<i64>, UnexpectedReply> {
    if reply.len() != wanted {
        return Err(UnexpectedReply("a read"));
    }
    reply
        .iter()
        .map(|value| match value {
            RedisResult::Nil => Ok(0),
            other => integer(other).ok_or(UnexpectedReply("a read")),
        })
        .collect()
}

/// `SET NX`'s reply: `OK` for the first caller, nil for the rest.
pub fn claimed(reply: &[RedisResult]) -> Result<bool, UnexpectedReply> {
    match reply {
        [RedisResult::Status(status)] if status == "OK" => Ok(true),
        [RedisResult::Nil] | [] => Ok(false),
        _ => Err(UnexpectedReply("a claim")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addition(key: &str, delta: i64, ttl_secs: u32) -> Addition {
        Addition {
            key: key.into(),
            delta,
            ttl_secs,
        }
    }

    #[test]
    fn an_add_then_read_sends_every_key_then_the_count_and_two_numbers_each() {
        let additions = [addition("a", 3, 120), addition("b", -1, 0)];
        let parameters = add_then_read(&additions, &["a".into(), "c".into()]);
        assert!(
            matches!(&parameters[0], RedisParameter::Binary(script) if script == ADD_THEN_READ.as_bytes())
        );
        assert!(matches!(parameters[1], RedisParameter::Int64(4)));
        assert!(matches!(&parameters[3], RedisParameter::Binary(key) if key == b"b"));
        assert!(matches!(&parameters[5], RedisParameter::Binary(key) if key == b"c"));
        assert!(matches!(parameters[6], RedisParameter::Int64(2)));
        assert!(matches!(parameters[7], RedisParameter::Int64(3)));
        assert!(matches!(parameters[8], RedisParameter::Int64(120)));
        assert!(matches!(parameters[9], RedisParameter::Int64(-1)));
        assert_eq!(parameters.len(), 2 + 4 + 5);
    }

    #[test]
    fn reads_count_missing_keys_as_zero_and_claims_read_set_nx() {
        let reply = [RedisResult::Nil, RedisResult::Binary(b"12".to_vec())];
        assert_eq!(counters(&reply, 2), Ok(vec![0, 12]));
        assert!(counters(&reply, 3).is_err());
        assert!(counters(&[RedisResult::Binary(b"x".to_vec())], 1).is_err());
        assert_eq!(claimed(&[RedisResult::Status("OK".into())]), Ok(true));
        assert_eq!(claimed(&[RedisResult::Nil]), Ok(false));
        assert!(matches!(claim("k", 0).len(), 3));
        assert!(matches!(claim("k", 60).len(), 5));
    }
}
