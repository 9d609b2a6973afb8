//! `fermyon:spin/redis` called the way a guest calls it, against the trait
//! implementation directly, on a real Redis (`WWS_TEST_REDIS_URL`, as the
//! store tests use it).

use wasmtime::component::Resource;

use super::bindings::fermyon::spin::redis::{
    Error as RedisError, HostConnection, RedisParameter, RedisResult,
};
use super::resources::RedisConnection;
use crate::platform::Platform;
use crate::state::{WwsState, for_tests};

/// A handle to the same resource, as a guest passes one per call.
fn again<T: 'static>(handle: &Resource<T>) -> Resource<T> {
    Resource::new_borrow(handle.rep())
}

fn redis_url() -> String {
    std::env::var("WWS_TEST_REDIS_URL")
        .expect("WWS_TEST_REDIS_URL is not set: run the suite with `cargo xtask test`")
}

fn ok<T>(result: wasmtime::Result<Result<T, RedisError>>) -> T {
    match result.expect("no trap") {
        Ok(value) => value,
        Err(error) => panic!("Redis command failed: {error:?}"),
    }
}

async fn open(state: &mut WwsState, address: &str) -> Result<Resource<RedisConnection>, String> {
    state
        .open(address.to_string())
        .await
        .expect("no trap")
        .map_err(|error| format!("{error:?}"))
}

#[tokio::test]
async fn redis_addresses_outside_the_allow_list_are_invalid() {
    let url = redis_url();
    let mut state = for_tests(&["redis://192.0.2.1:6379"], Platform::Spin);
    assert_eq!(
        open(&mut state, &url).await.err().as_deref(),
        Some("Error::InvalidAddress")
    );
    let mut state = for_tests(&["*://*:*"], Platform::Spin);
    // Allowed, but the client cannot read it.
    assert_eq!(
        open(&mut state, "127.0.0.1:6399").await.err().as_deref(),
        Some("Error::InvalidAddress")
    );
    assert!(open(&mut state, &url).await.is_ok());
}

#[tokio::test]
async fn redis_commands_answer_as_in_spin() {
    let url = redis_url();
    let mut state = for_tests(&["redis://127.0.0.1:*"], Platform::Spin);
    let connection = open(&mut state, &url).await.expect("opens");
    let prefix = format!("host-call-test:{}:", std::process::id());
    let (key, set_key, absent) = (
        format!("{prefix}value"),
        format!("{prefix}set"),
        format!("{prefix}absent"),
    );

    ok(state
        .set(again(&connection), key.clone(), b"v1".to_vec())
        .await);
    assert_eq!(
        ok(state.get(again(&connection), key.clone()).await),
        Some(b"v1".to_vec())
    );
    assert_eq!(
        ok(state.get(again(&connection), absent.clone()).await),
        None
    );
    // `incr` on a value that is not a number fails as `other`.
    let not_a_number = state
        .incr(again(&connection), key.clone())
        .await
        .expect("no trap");
    assert!(
        matches!(not_a_number, Err(RedisError::Other(_))),
        "{not_a_number:?}"
    );
    assert_eq!(ok(state.incr(again(&connection), absent.clone()).await), 1);
    assert_eq!(
        ok(state
            .sadd(
                again(&connection),
                set_key.clone(),
                vec!["a".into(), "b".into()]
            )
            .await),
        2
    );
    // A key of another type is the server's WRONGTYPE error, which Spin
    // passes on as `other` (its `type-error` is for replies the client
    // cannot convert, and only from `sadd`).
    let wrong_type = state
        .sadd(again(&connection), key.clone(), vec!["a".into()])
        .await
        .expect("no trap");
    assert!(
        matches!(
            &wrong_type,
            Err(RedisError::Other(message)) if message.contains("WRONGTYPE")
        ),
        "{wrong_type:?}"
    );
    let mut members = ok(state.smembers(again(&connection), set_key.clone()).await);
    members.sort();
    assert_eq!(members, ["a", "b"]);
    assert_eq!(
        ok(state
            .srem(again(&connection), set_key.clone(), vec!["a".into()])
            .await),
        1
    );

    let results = ok(state
        .execute(
            again(&connection),
            "MGET".into(),
            vec![
                RedisParameter::Binary(key.clone().into_bytes()),
                RedisParameter::Binary(format!("{prefix}missing").into_bytes()),
            ],
        )
        .await);
    assert_eq!(
        format!("{results:?}"),
        format!(
            "{:?}",
            [RedisResult::Binary(b"v1".to_vec()), RedisResult::Nil]
        )
    );
    let results = ok(state
        .execute(
            again(&connection),
            "INCRBY".into(),
            vec![
                RedisParameter::Binary(absent.clone().into_bytes()),
                RedisParameter::Int64(41),
            ],
        )
        .await);
    assert_eq!(
        format!("{results:?}"),
        format!("{:?}", [RedisResult::Int64(42)])
    );
    let unknown = state
        .execute(again(&connection), "NO-SUCH-COMMAND".into(), vec![])
        .await
        .expect("no trap");
    assert!(matches!(unknown, Err(RedisError::Other(_))), "{unknown:?}");

    ok(state
        .publish(
            again(&connection),
            format!("{prefix}channel"),
            b"hi".to_vec(),
        )
        .await);
    assert_eq!(
        ok(state
            .del(again(&connection), vec![key, set_key, absent])
            .await),
        3
    );
    assert_eq!(state.redis_connections, 1);
    HostConnection::drop(&mut state, connection)
        .await
        .expect("dropped");
    assert_eq!(state.redis_connections, 0);
    // Every command was one call in the request's tally.
    assert!(
        state.calls.counts(0).contains("14 Redis commands"),
        "{}",
        state.calls.counts(0)
    );
}
