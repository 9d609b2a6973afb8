//! The charge script run in a real Redis (the suite's, `WWS_TEST_REDIS_URL`)
//! decides exactly as `wws_guest::kv::Charge::fits`, which the key-value
//! plug uses: both plugs must admit the same requests, window weights and
//! rounding included, and take back everything a refusal held.

use wws_guest::kv::{Charge, Charged};

use crate::scripts::CHARGE_ALL;

fn connection() -> redis::Connection {
    let url = std::env::var("WWS_TEST_REDIS_URL")
        .expect("WWS_TEST_REDIS_URL is not set: run the tests with `cargo xtask test`");
    redis::Client::open(url)
        .and_then(|client| client.get_connection())
        .expect("the suite's Redis answers")
}

/// Runs the script over `charges`; returns admitted and what each saw.
fn run(connection: &mut redis::Connection, charges: &[Charge]) -> (bool, Vec<Charged>) {
    let mut eval = redis::cmd("EVAL");
    eval.arg(CHARGE_ALL).arg(charges.len() * 2);
    for charge in charges {
        eval.arg(&charge.key).arg(&charge.previous);
    }
    for charge in charges {
        eval.arg(charge.amount)
            .arg(charge.limit)
            .arg(charge.overlap_millis)
            .arg(charge.length_millis)
            .arg(charge.ttl_secs);
    }
    let reply: Vec<i64> = eval.query(connection).expect("the script runs");
    let seen = reply[1..]
        .chunks_exact(2)
        .map(|pair| Charged {
            current: pair[0],
            previous: pair[1],
        })
        .collect();
    (reply[0] == 1, seen)
}

fn fresh_keys(connection: &mut redis::Connection, label: &str) -> (String, String) {
    let id: u64 = redis::cmd("INCR")
        .arg("wws-test:against-redis")
        .query(connection)
        .expect("incr");
    let key = format!("wws-test:{label}:{}:{id}", std::process::id());
    (key.clone(), format!("{key}:previous"))
}

#[test]
fn the_script_decides_as_the_rust_arithmetic_does() {
    let mut connection = connection();
    let length = 60_000u64;
    for previous in [0i64, 1, 7, 59, 60, 1_000_003] {
        for overlap in [0u64, 1, 999, 30_000, 59_999, 60_000] {
            for held in [0i64, 5, 29] {
                let (key, before) = fresh_keys(&mut connection, "grid");
                let _: () = redis::cmd("SET")
                    .arg(&before)
                    .arg(previous)
                    .query(&mut connection)
                    .expect("set");
                let _: () = redis::cmd("SET")
                    .arg(&key)
                    .arg(held)
                    .query(&mut connection)
                    .expect("set");
                let charge = Charge {
                    key: key.clone(),
                    previous: before,
                    overlap_millis: overlap,
                    length_millis: length,
                    amount: 1,
                    limit: 30,
                    ttl_secs: 120,
                };
                let (admitted, seen) = run(&mut connection, std::slice::from_ref(&charge));
                let expected = Charged {
                    current: held + 1,
                    previous,
                };
                assert_eq!(seen, [expected]);
                assert_eq!(
                    admitted,
                    charge.fits(expected),
                    "previous {previous}, overlap {overlap} ms, {held} held"
                );
                let now: i64 = redis::cmd("GET")
                    .arg(&key)
                    .query(&mut connection)
                    .expect("get");
                assert_eq!(now, if admitted { held + 1 } else { held });
            }
        }
    }
}

#[test]
fn a_refused_second_charge_takes_the_first_back_and_keys_expire() {
    let mut connection = connection();
    let (minute, minute_before) = fresh_keys(&mut connection, "minute");
    let (day, day_before) = fresh_keys(&mut connection, "day");
    let charge = |key: &str, previous: &str, limit| Charge {
        key: key.into(),
        previous: previous.into(),
        overlap_millis: 0,
        length_millis: 60_000,
        amount: 400,
        limit,
        ttl_secs: 120,
    };
    let both = [
        charge(&minute, &minute_before, 1_000),
        charge(&day, &day_before, 500),
    ];
    assert!(run(&mut connection, &both).0);
    let (admitted, seen) = run(&mut connection, &both);
    assert!(!admitted);
    assert_eq!(seen.len(), 2, "the day budget was the one that did not fit");
    let held: Vec<i64> = redis::cmd("MGET")
        .arg(&minute)
        .arg(&day)
        .query(&mut connection)
        .expect("mget");
    assert_eq!(held, [400, 400], "the refusal held nothing");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&minute)
        .query(&mut connection)
        .expect("ttl");
    assert!((1..=120).contains(&ttl), "{ttl}");
}
