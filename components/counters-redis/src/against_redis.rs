//! The scripts run in a real Redis (the suite's, `WWS_TEST_REDIS_URL`),
//! with the parameters the plug sends and its reply parsing: additions are
//! seen by the reads, exactly past 2^53 (callers pack two counts into one
//! value), and a new counter gets its ttl.

use wws_guest::bindings::fermyon::spin::redis::{RedisParameter, RedisResult};
use wws_guest::kv::Addition;

use crate::scripts;

fn connection() -> redis::Connection {
    let url = std::env::var("WWS_TEST_REDIS_URL")
        .expect("WWS_TEST_REDIS_URL is not set: run the tests with `cargo xtask test`");
    redis::Client::open(url)
        .and_then(|client| client.get_connection())
        .expect("the suite's Redis answers")
}

/// Runs `command` as Spin's outbound Redis `execute` does: the reply
/// flattened into a list of results.
fn execute(
    connection: &mut redis::Connection,
    command: &str,
    parameters: &[RedisParameter],
) -> Vec<RedisResult> {
    let mut cmd = redis::cmd(command);
    for parameter in parameters {
        match parameter {
            RedisParameter::Int64(value) => cmd.arg(*value),
            RedisParameter::Binary(bytes) => cmd.arg(bytes.as_slice()),
        };
    }
    let reply: redis::Value = cmd.query(connection).expect("the command runs");
    let mut results = Vec::new();
    flatten(reply, &mut results);
    results
}

fn flatten(value: redis::Value, into: &mut Vec<RedisResult>) {
    match value {
        redis::Value::Nil => into.push(RedisResult::Nil),
        redis::Value::Int(value) => into.push(RedisResult::Int64(value)),
        redis::Value::BulkString(bytes) => into.push(RedisResult::Binary(bytes)),
        redis::Value::SimpleString(text) => into.push(RedisResult::Status(text)),
        redis::Value::Okay => into.push(RedisResult::Status("OK".into())),
        redis::Value::Array(values) => values.into_iter().for_each(|value| flatten(value, into)),
        other => panic!("a reply Spin's outbound Redis does not pass on: {other:?}"),
    }
}

/// Runs one add-then-read as the plug does.
fn add_then_read(
    connection: &mut redis::Connection,
    additions: &[Addition],
    keys: &[String],
) -> Vec<i64> {
    let reply = execute(connection, "EVAL", &scripts::add_then_read(additions, keys));
    scripts::counters(&reply, keys.len()).expect("counters")
}

fn fresh_key(connection: &mut redis::Connection, label: &str) -> String {
    let id: u64 = redis::cmd("INCR")
        .arg("wws-test:against-redis")
        .query(connection)
        .expect("incr");
    format!("wws-test:{label}:{}:{id}", std::process::id())
}

fn addition(key: &str, delta: i64, ttl_secs: u32) -> Addition {
    Addition {
        key: key.into(),
        delta,
        ttl_secs,
    }
}

fn ttl(connection: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("TTL").arg(key).query(connection).expect("ttl")
}

#[test]
fn the_reads_see_every_addition_and_missing_counters_are_zero() {
    let mut connection = connection();
    let minute = fresh_key(&mut connection, "minute");
    let day = fresh_key(&mut connection, "day");
    let missing = fresh_key(&mut connection, "missing");
    let both = [addition(&minute, 5, 120), addition(&day, 3, 120)];
    let keys = [day.clone(), missing.clone(), minute.clone()];
    assert_eq!(add_then_read(&mut connection, &both, &keys), [3, 0, 5]);
    assert_eq!(add_then_read(&mut connection, &both, &keys), [6, 0, 10]);
    assert_eq!(
        add_then_read(&mut connection, &[], &keys),
        [6, 0, 10],
        "no additions: a plain read"
    );
    assert_eq!(
        add_then_read(&mut connection, &[addition(&minute, -4, 0)], &[]),
        Vec::<i64>::new(),
        "no reads: an empty reply"
    );
    assert_eq!(add_then_read(&mut connection, &[], &[minute]), [6]);
}

#[test]
fn packed_values_past_two_to_the_53_come_back_exactly() {
    let mut connection = connection();
    let key = fresh_key(&mut connection, "packed");
    let packed = (123_456_789_i64 << 32) | 987_654_321;
    assert!(packed > 1 << 53);
    let seen = add_then_read(
        &mut connection,
        &[addition(&key, packed, 60)],
        std::slice::from_ref(&key),
    );
    assert_eq!(seen, [packed]);
    let seen = add_then_read(
        &mut connection,
        &[addition(&key, 1, 60)],
        std::slice::from_ref(&key),
    );
    assert_eq!(seen, [packed + 1], "a double would have rounded this");
    let plus_one = (1_i64 << 53) + 1;
    let odd = fresh_key(&mut connection, "odd");
    let seen = add_then_read(
        &mut connection,
        &[addition(&odd, plus_one, 60)],
        std::slice::from_ref(&odd),
    );
    assert_eq!(seen, [plus_one]);
}

#[test]
fn a_new_counter_gets_its_ttl_and_a_later_addition_keeps_it() {
    let mut connection = connection();
    let expiring = fresh_key(&mut connection, "expiring");
    let kept = fresh_key(&mut connection, "kept");
    add_then_read(
        &mut connection,
        &[addition(&expiring, 1, 120), addition(&kept, 1, 0)],
        &[],
    );
    let first = ttl(&mut connection, &expiring);
    assert!((1..=120).contains(&first), "{first}");
    assert_eq!(ttl(&mut connection, &kept), -1, "ttl 0: no expiry");
    add_then_read(&mut connection, &[addition(&expiring, 1, 5)], &[]);
    add_then_read(&mut connection, &[addition(&expiring, 1, 0)], &[]);
    let later = ttl(&mut connection, &expiring);
    assert!(later > 5 && later <= first, "{later}");
    let _: () = redis::cmd("DEL")
        .arg(&kept)
        .query(&mut connection)
        .expect("del");
}
