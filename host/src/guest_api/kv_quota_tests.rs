//! The platform's key-value quotas and Spin's batch answers, met the way a
//! guest meets them: through the `wasi:keyvalue` implementation, on a
//! memory store.

use wasmtime::component::Resource;

use super::bindings::wasi::keyvalue::batch::Host as _;
use super::bindings::wasi::keyvalue::store::{self, Host as _, HostBucket as _};
use super::resources::KvBucket;
use crate::platform::Platform;
use crate::state::{WwsState, for_tests};

fn again<T: 'static>(handle: &Resource<T>) -> Resource<T> {
    Resource::new_borrow(handle.rep())
}

async fn bucket(state: &mut WwsState) -> Resource<KvBucket> {
    state
        .open("default".into())
        .await
        .expect("no trap")
        .expect("opens")
}

fn quota_refusal<T: std::fmt::Debug>(result: wasmtime::Result<Result<T, store::Error>>) -> String {
    match result.expect("no trap") {
        Err(store::Error::Other(message)) => message,
        other => panic!("expected a quota refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn akamai_refuses_oversized_keys_and_values_without_quoting_them() {
    let mut state = for_tests(&[], Platform::Akamai);
    let bucket = bucket(&mut state).await;
    let long_key = "k".repeat(8_001);
    let refusal = quota_refusal(state.get(again(&bucket), long_key.clone()).await);
    assert!(
        refusal.contains("quota") && refusal.contains("key size"),
        "{refusal}"
    );
    assert!(!refusal.contains("kkkk"), "{refusal}");
    let big = vec![7; 1_000_001];
    let refusal = quota_refusal(state.set(again(&bucket), "k".into(), big.clone()).await);
    assert!(refusal.contains("value size"), "{refusal}");
    // A batch with one oversized item is refused whole.
    let refusal = quota_refusal(
        state
            .set_many(
                again(&bucket),
                vec![("a".into(), b"1".to_vec()), ("b".into(), big)],
            )
            .await,
    );
    assert!(refusal.contains("value size"), "{refusal}");
    let got = state
        .get(again(&bucket), "a".into())
        .await
        .expect("no trap")
        .expect("read");
    assert_eq!(got, None, "nothing of the refused batch was written");
    let breaches = state.quotas.as_ref().expect("metered").breaches();
    assert_eq!(breaches.iter().map(|(_, n)| n).sum::<u64>(), 3);
}

#[tokio::test]
async fn akamai_allows_fifty_writes_a_second_counting_batch_items() {
    let mut state = for_tests(&[], Platform::Akamai);
    let bucket = bucket(&mut state).await;
    // Stay inside one second of the meter's windows.
    let items: Vec<(String, Vec<u8>)> = (0..45).map(|n| (format!("k{n}"), vec![1])).collect();
    state
        .set_many(again(&bucket), items)
        .await
        .expect("no trap")
        .expect("45 writes");
    for key in ["a", "b", "c", "d", "e"] {
        state
            .delete(again(&bucket), key.into())
            .await
            .expect("no trap")
            .expect("a write");
    }
    let refusal = quota_refusal(state.set(again(&bucket), "one-more".into(), vec![1]).await);
    assert!(refusal.contains("writes per second"), "{refusal}");
    // Reads have their own budget.
    state
        .exists(again(&bucket), "k1".into())
        .await
        .expect("no trap")
        .expect("a read");
}

#[tokio::test]
async fn spin_has_no_key_value_quotas() {
    let mut state = for_tests(&[], Platform::Spin);
    let bucket = bucket(&mut state).await;
    state
        .set(again(&bucket), "k".repeat(10_000), vec![0; 2_000_000])
        .await
        .expect("no trap")
        .expect("no limit");
}

#[tokio::test]
async fn get_many_lists_only_the_keys_found_as_spins_sqlite_store_does() {
    let mut state = for_tests(&[], Platform::Spin);
    let bucket = bucket(&mut state).await;
    state
        .set(again(&bucket), "b".into(), b"2".to_vec())
        .await
        .expect("no trap")
        .expect("set");
    let found = state
        .get_many(again(&bucket), vec!["a".into(), "b".into(), "c".into()])
        .await
        .expect("no trap")
        .expect("read");
    assert_eq!(found, [("b".to_string(), Some(b"2".to_vec()))]);
}
