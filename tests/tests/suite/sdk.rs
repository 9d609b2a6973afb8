//! The official OpenAI and Anthropic client packages against `/v1`, as
//! users run them. `cargo xtask test` installs them and sets `WWS_TEST_PYTHON`.

use wws_tests::gateway::{ALICE, Env};
use wws_tests::python::{self, example};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_python_package_works_plain_and_streamed() {
    let env = Env::start().await;
    let stdout = python::run(vec![
        example("openai-python/chat.py"),
        env.gateway.url.clone(),
        ALICE.into(),
    ])
    .await;
    assert!(stdout.contains("stream: "), "{stdout}");
    assert!(stdout.contains("unknown model: 400"), "{stdout}");
    // The streamed request asked the provider for usage; the SDK never saw it.
    let streamed = &env.fallback.requests()[1].json();
    assert_eq!(streamed["stream_options"]["include_usage"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anthropic_python_package_works_plain_and_streamed() {
    let env = Env::start().await;
    let stdout = python::run(vec![
        example("anthropic-python/messages.py"),
        env.gateway.url.clone(),
        ALICE.into(),
    ])
    .await;
    assert!(stdout.contains("stream: "), "{stdout}");
    assert!(stdout.contains("unknown model: 400"), "{stdout}");
    // The SDK sent its key in x-api-key; the provider got the gateway's own.
    let sent = &env.fallback.requests()[0];
    assert_eq!(sent.path_and_query, "/api/anthropic/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(wws_tests::provider::ZAI_KEY));
}
