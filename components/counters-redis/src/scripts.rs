//! The Lua scripts that make each counters operation one round trip, with
//! their arguments and replies. A script runs atomically in Redis, so a
//! charge is added, judged and taken back with nothing in between, and the
//! same exactness as the key-value plug holds across every host.
//!
//! Numbers in Redis's Lua are doubles: exact up to 2^53, beyond any count
//! here. The previous window's weight is split into a whole part and a
//! remainder so `previous * overlap` never leaves that range.

use wws_guest::bindings::fermyon::spin::redis::{RedisParameter, RedisResult};
use wws_guest::kv::{Charge, ChargeOutcome, Charged};

/// KEYS: per charge its key and previous key. ARGV: per charge amount,
/// limit, overlap, length, ttl. Reply: admitted (1/0), then per charge
/// tried its current and previous count. The weight is
/// `wws_guest::kv::Charge::weighted_total`'s.
pub const CHARGE_ALL: &str = r"
local seen = {}
local tried = 0
for i = 1, #KEYS / 2 do
  local key, before = KEYS[2 * i - 1], KEYS[2 * i]
  local at = 5 * (i - 1)
  local amount, limit = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local overlap, length, ttl = tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4]), tonumber(ARGV[at + 5])
  local current = redis.call('INCRBY', key, amount)
  if ttl > 0 and redis.call('TTL', key) == -1 then redis.call('EXPIRE', key, ttl) end
  local previous = tonumber(redis.call('GET', before) or '0') or 0
  seen[#seen + 1] = current
  seen[#seen + 1] = previous
  tried = i
  local p = math.max(previous, 0)
  local whole = math.floor(p / length)
  local carried = whole * overlap + math.floor(((p - whole * length) * overlap + length - 1) / length)
  if math.max(current, 0) + carried > math.max(limit, 0) then
    for j = 1, tried do
      redis.call('DECRBY', KEYS[2 * j - 1], ARGV[5 * (j - 1) + 1])
    end
    table.insert(seen, 1, 0)
    return seen
  end
end
table.insert(seen, 1, 1)
return seen
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
    let mut parameters = vec![text(script), RedisParameter::Int64(keys.len() as i64)];
    parameters.extend(keys.iter().map(text));
    parameters.extend(args);
    parameters
}

pub fn charge_all(charges: &[Charge]) -> Vec<RedisParameter> {
    let keys: Vec<&str> = charges
        .iter()
        .flat_map(|charge| [charge.key.as_str(), charge.previous.as_str()])
        .collect();
    let args = charges
        .iter()
        .flat_map(|charge| {
            [
                RedisParameter::Int64(charge.amount),
                RedisParameter::Int64(charge.limit),
                RedisParameter::Int64(to_i64(charge.overlap_millis)),
                RedisParameter::Int64(to_i64(charge.length_millis.max(1))),
                RedisParameter::Int64(i64::from(charge.ttl_secs)),
            ]
        })
        .collect();
    eval(CHARGE_ALL, &keys, args)
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

fn to_i64(value: u64) -> i64 {
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

pub fn charge_outcome(reply: &[RedisResult]) -> Result<ChargeOutcome, UnexpectedReply> {
    let unexpected = UnexpectedReply("a charge");
    let (admitted, counts) = reply.split_first().ok_or(unexpected)?;
    let numbers: Vec<i64> = counts
        .iter()
        .map(integer)
        .collect::<Option<_>>()
        .ok_or(unexpected)?;
    if !numbers.len().is_multiple_of(2) {
        return Err(unexpected);
    }
    Ok(ChargeOutcome {
        admitted: integer(admitted) == Some(1),
        tried: numbers
            .chunks_exact(2)
            .map(|pair| Charged {
                current: pair[0],
                previous: pair[1],
            })
            .collect(),
    })
}

pub fn single_integer(reply: &[RedisResult], what: &'static str) -> Result<i64, UnexpectedReply> {
    match reply {
        [one] => integer(one).ok_or(UnexpectedReply(what)),
        _ => Err(UnexpectedReply(what)),
    }
}

/// `MGET`'s values as counters: missing keys are zero.
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

    fn charge(key: &str) -> Charge {
        Charge {
            key: key.into(),
            previous: format!("{key}:before"),
            overlap_millis: 30_000,
            length_millis: 60_000,
            amount: 3,
            limit: 10,
            ttl_secs: 120,
        }
    }

    #[test]
    fn a_charge_sends_its_keys_then_five_numbers_each() {
        let parameters = charge_all(&[charge("a"), charge("b")]);
        assert!(
            matches!(&parameters[0], RedisParameter::Binary(script) if script == CHARGE_ALL.as_bytes())
        );
        assert!(matches!(parameters[1], RedisParameter::Int64(4)));
        assert!(matches!(&parameters[3], RedisParameter::Binary(key) if key == b"a:before"));
        assert_eq!(parameters.len(), 2 + 4 + 10);
        assert!(matches!(parameters[6], RedisParameter::Int64(3)));
        assert!(matches!(parameters[10], RedisParameter::Int64(120)));
    }

    #[test]
    fn a_charge_reply_reads_back_as_what_each_charge_saw() {
        let reply = [
            RedisResult::Int64(0),
            RedisResult::Int64(4),
            RedisResult::Int64(0),
            RedisResult::Int64(11),
            RedisResult::Int64(2),
        ];
        let outcome = charge_outcome(&reply).expect("outcome");
        assert!(!outcome.admitted);
        assert_eq!(
            outcome.tried,
            [
                Charged {
                    current: 4,
                    previous: 0
                },
                Charged {
                    current: 11,
                    previous: 2
                }
            ]
        );
        assert!(charge_outcome(&[]).is_err());
        assert!(charge_outcome(&[RedisResult::Int64(1), RedisResult::Int64(1)]).is_err());
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
