//! The official OpenAI and Anthropic client packages against `/v1`, as
//! users run them. `cargo xtask test` installs them and sets `WWS_TEST_PYTHON`.

use wws_tests::gateway::{ALICE, Env};

fn example(path: &str) -> String {
    format!("{}/../examples/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_python_package_works_plain_and_streamed() {
    let python = std::env::var("WWS_TEST_PYTHON")
        .expect("WWS_TEST_PYTHON is not set: run the suite with `cargo xtask test`");
    let env = Env::start().await;
    let url = env.gateway.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(example("openai-python/chat.py"))
            .args([&url, ALICE])
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("stream: "), "{stdout}");
    assert!(stdout.contains("unknown model: 400"), "{stdout}");
    // The streamed request asked the provider for usage; the SDK never saw it.
    let streamed = &env.fallback.requests()[1].json();
    assert_eq!(streamed["stream_options"]["include_usage"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anthropic_python_package_works_plain_and_streamed() {
    let python = std::env::var("WWS_TEST_PYTHON")
        .expect("WWS_TEST_PYTHON is not set: run the suite with `cargo xtask test`");
    let env = Env::start().await;
    let url = env.gateway.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(example("anthropic-python/messages.py"))
            .args([&url, ALICE])
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("stream: "), "{stdout}");
    assert!(stdout.contains("unknown model: 400"), "{stdout}");
    // The SDK sent its key in x-api-key; the provider got the gateway's own.
    let sent = &env.fallback.requests()[0];
    assert_eq!(sent.path_and_query, "/api/anthropic/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(wws_tests::provider::ZAI_KEY));
}
