//! Issue 9: the Auth Guard when Supabase or its JWKS misbehave — gone,
//! slow, failing, or serving garbage. An unverifiable token never passes
//! (fail closed: 503, or 401 when the token is refused), the answer never
//! waits past the configured timeouts, never is a 500, and the gateway
//! recovers by itself once Supabase does.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wws_tests::gateway::{Env, Store, unique_token};
use wws_tests::mock::{self, Delay, MockServer};
use wws_tests::supabase::{self, jwks_calls, user_calls};
use wws_tests::tokens::{self, EcKey};

fn chat() -> Value {
    json!({ "messages": [{ "role": "user", "content": "hi" }] })
}

struct Outcome {
    status: u16,
    source: String,
    error_type: String,
    took: Duration,
}

async fn authenticate(env: &Env, token: &str) -> Outcome {
    let started = Instant::now();
    let response = env
        .post("/v1/chat/completions", Some(token))
        .json(&chat())
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .expect("the gateway answers");
    let status = response.status().as_u16();
    let source = response
        .headers()
        .get("x-wws-auth-source")
        .map(|value| value.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Outcome {
        status,
        source,
        error_type: body["error"]["type"].as_str().unwrap_or_default().into(),
        took: started.elapsed(),
    }
}

fn assert_unavailable(outcome: &Outcome, case: &str) {
    assert_eq!(
        (outcome.status, outcome.error_type.as_str()),
        (503, "auth_unavailable"),
        "{case}"
    );
}

#[tokio::test]
async fn an_outage_fails_closed_keeps_cached_sessions_and_heals_without_a_restart() {
    let mut env = Env::start().await;
    let known = unique_token("known");
    assert_eq!(authenticate(&env, &known).await.source, "origin");

    // Supabase goes away: its port refuses connections, kept-alive ones close.
    let address = env.supabase.addr;
    env.supabase = MockServer::start(Arc::new(|_| mock::json(404, json!({})))).await;

    let cached = authenticate(&env, &known).await;
    assert_eq!((cached.status, cached.source.as_str()), (200, "cache"));
    let stranger = unique_token("stranger");
    for attempt in 0..2 {
        let refused = authenticate(&env, &stranger).await;
        assert_unavailable(&refused, &format!("attempt {attempt}"));
        assert!(refused.took < Duration::from_secs(1), "{:?}", refused.took);
    }
    assert_eq!(env.primary.count(), 2, "only the known session got through");

    // Back on the same port: the outage was not remembered as a rejection.
    env.supabase = supabase::start_at(address).await.0;
    let healed = authenticate(&env, &stranger).await;
    assert_eq!((healed.status, healed.source.as_str()), (200, "origin"));
}

/// A Supabase stand-in that can be switched into failing; its JWKS is empty.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Normal,
    /// Every answer held back for 3 s.
    Slow,
    ServerError,
    /// 200 with a body that is not a user.
    Garbage,
    /// The user's answer one byte at a time, 250 ms apart.
    Drip,
}

async fn switchable_supabase() -> (MockServer, Arc<Mutex<Mode>>) {
    let mode = Arc::new(Mutex::new(Mode::Normal));
    let current = mode.clone();
    let server = MockServer::start(Arc::new(move |request| {
        let mode = *current.lock().unwrap();
        let mut response = match mode {
            Mode::ServerError => mock::json(500, json!({ "msg": "internal error" })),
            Mode::Garbage => mock::full(200, "application/json", "<html>maintenance</html>"),
            Mode::Drip => {
                let text = json!({ "id": "user-drip", "email": "drip@example.com" }).to_string();
                let bytes = text.chars().map(String::from).collect();
                let mut response = mock::full(200, "application/json", "");
                *response.body_mut() = mock::chunked(bytes, Duration::from_millis(250), false);
                response
            }
            _ if request.path_and_query == supabase::JWKS_PATH => {
                mock::json(200, json!({ "keys": [] }))
            }
            _ => supabase::user_answer(request),
        };
        if mode == Mode::Slow {
            response
                .extensions_mut()
                .insert(Delay(Duration::from_secs(3)));
        }
        response
    }))
    .await;
    (server, mode)
}

async fn env_with(supabase: &MockServer, extra: &[(&str, &str)]) -> Env {
    let url = supabase.url();
    let mut variables = vec![
        ("supabase_url", url.as_str()),
        ("first_byte_timeout_ms", "300"),
    ];
    variables.extend_from_slice(extra);
    Env::start_with(&variables, Store::Memory).await
}

#[tokio::test]
async fn a_slow_supabase_is_503_within_the_first_byte_timeout() {
    let (supabase, mode) = switchable_supabase().await;
    let env = env_with(&supabase, &[]).await;
    let known = unique_token("known");
    assert_eq!(authenticate(&env, &known).await.source, "origin");

    *mode.lock().unwrap() = Mode::Slow;
    let stranger = unique_token("stranger");
    let slow = authenticate(&env, &stranger).await;
    assert_unavailable(&slow, "slow");
    assert!(
        slow.took >= Duration::from_millis(300) && slow.took < Duration::from_millis(1_500),
        "bounded by first_byte_timeout_ms, not by Supabase: {:?}",
        slow.took
    );
    let cached = authenticate(&env, &known).await;
    assert_eq!((cached.status, cached.source.as_str()), (200, "cache"));
    assert!(cached.took < Duration::from_secs(1), "{:?}", cached.took);

    *mode.lock().unwrap() = Mode::Normal;
    let healed = authenticate(&env, &stranger).await;
    assert_eq!((healed.status, healed.source.as_str()), (200, "origin"));
}

#[tokio::test]
async fn a_slow_jwks_is_bounded_too() {
    let (supabase, mode) = switchable_supabase().await;
    let env = env_with(&supabase, &[("jwt_jwks", "true")]).await;
    *mode.lock().unwrap() = Mode::Slow;
    let issuer = format!("{}/auth/v1", supabase.url());
    let token = EcKey::generate("k1").sign(&tokens::claims(&issuer, "slow", 600));
    let slow = authenticate(&env, &token).await;
    // The JWKS download times out, then so does the user lookup.
    assert_unavailable(&slow, "slow JWKS and user lookup");
    assert!(slow.took < Duration::from_millis(2_000), "{:?}", slow.took);
}

#[tokio::test]
async fn supabase_failures_are_503_and_never_remembered_as_rejections() {
    let (supabase, mode) = switchable_supabase().await;
    let env = env_with(&supabase, &[]).await;
    let token = unique_token("unlucky");
    for failure in [Mode::ServerError, Mode::Garbage] {
        *mode.lock().unwrap() = failure;
        let outcome = authenticate(&env, &token).await;
        assert_unavailable(&outcome, &format!("{failure:?}"));
    }
    *mode.lock().unwrap() = Mode::Normal;
    let healed = authenticate(&env, &token).await;
    assert_eq!((healed.status, healed.source.as_str()), (200, "origin"));
}

#[tokio::test]
async fn garbage_jwks_never_lets_a_token_through_and_heals_once_repaired() {
    let env = Env::start_with(
        &[("jwt_jwks", "true"), ("jwks_refetch_secs", "0")],
        Store::Memory,
    )
    .await;
    let key = EcKey::generate("k1");
    let issuer = format!("{}/auth/v1", env.supabase.url());
    let undecodable = json!({ "keys": [{
        "kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "k1", "x": "!!", "y": "??",
    }] });
    // (case, JWKS body, whether Supabase then decides)
    let cases = [
        ("not JSON", "<html>oops</html>".to_string(), true),
        ("JSON without keys", json!({ "nope": [] }).to_string(), true),
        (
            "keys not a list",
            json!({ "keys": "none" }).to_string(),
            true,
        ),
        (
            "a key of an unknown type",
            json!({ "keys": [{ "kty": "XYZ", "kid": "k1" }] }).to_string(),
            true,
        ),
        (
            "a body over the size limit",
            json!({ "keys": [key.jwk()], "padding": "x".repeat(400_000) }).to_string(),
            true,
        ),
        (
            "a key whose members do not decode",
            undecodable.to_string(),
            false,
        ),
    ];
    for (n, (case, body, supabase_decides)) in cases.into_iter().enumerate() {
        env.supabase_keys.publish_raw(body);
        let before = user_calls(&env.supabase);
        let token = key.sign(&tokens::claims(&issuer, &format!("user-{n}"), 600));
        let outcome = authenticate(&env, &token).await;
        assert_eq!(
            (outcome.status, outcome.error_type.as_str()),
            (401, "authentication_error"),
            "{case}"
        );
        assert!(
            outcome.took < Duration::from_secs(1),
            "{case}: {:?}",
            outcome.took
        );
        assert_eq!(
            user_calls(&env.supabase) - before,
            usize::from(supabase_decides),
            "{case}: who decided"
        );
    }
    assert!(jwks_calls(&env.supabase) >= 6, "a broken set is not kept");
    assert_eq!(env.primary.count(), 0);

    env.supabase_keys.publish(tokens::jwks(&[&key]));
    let token = key.sign(&tokens::claims(&issuer, "repaired", 600));
    let healed = authenticate(&env, &token).await;
    assert_eq!((healed.status, healed.source.as_str()), (200, "jwt"));
}

/// Each gap of a dripped answer is under the between-bytes timeout; only a
/// bound on the whole call decides the login in time (issue 22).
#[tokio::test]
async fn a_dripping_supabase_is_cut_off_by_the_whole_call_deadline() {
    let (supabase, mode) = switchable_supabase().await;
    let env = env_with(&supabase, &[("first_byte_timeout_ms", "2000")]).await;
    *mode.lock().unwrap() = Mode::Drip;
    let dripped = authenticate(&env, &unique_token("drip")).await;
    println!("dripping Supabase decided in {:?}", dripped.took);
    assert_unavailable(&dripped, "dripped answer");
    assert!(
        dripped.took < Duration::from_secs(7),
        "bounded near 5 s, not by the drip's 12 s: {:?}",
        dripped.took
    );
}

/// Made-up tokens from one address stop reaching Supabase after
/// `failed_login_limit` refusals; known sessions and other addresses are
/// unaffected (issue 15).
#[tokio::test]
async fn refused_tokens_are_throttled_per_address_before_supabase() {
    let env = Env::start_with(&[("failed_login_limit", "5")], Store::Memory).await;
    wws_tests::gateway::wait_for_window_with(20).await;
    let known = unique_token("known");
    assert_eq!(authenticate(&env, &known).await.status, 200);
    for n in 0..5 {
        let refused = authenticate(&env, &format!("made-up-{n}")).await;
        assert_eq!(refused.status, 401, "refusal {n}");
    }
    let calls = user_calls(&env.supabase);
    let throttled = env
        .post("/v1/chat/completions", Some("made-up-6"))
        .json(&chat())
        .send()
        .await
        .expect("answered");
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["type"], "too_many_failed_logins");
    assert_eq!(user_calls(&env.supabase), calls, "Supabase was not asked");
    let cached = authenticate(&env, &known).await;
    assert_eq!((cached.status, cached.source.as_str()), (200, "cache"));
}
