//! The client examples under `examples/` against a gateway on loopback mocks,
//! run with Node as users run them: the typed TypeScript client, the official
//! `openai` npm package and the n8n workflow. `cargo xtask test` installs and
//! builds the npm examples and sets `WWS_TEST_NODE`.

use std::path::PathBuf;

use serde_json::json;
use sha2::Digest;
use wws_tests::gateway::{ALICE, BOB, Env, Store};
use wws_tests::provider::Step;
use wws_tests::supabase::user_calls;

/// User text that breaks naive JSON templating and naive SSE handling.
const QUESTION: &str = "She wrote \"done\"\n\tthen left: ünïcødé 🚀 \\ {{ $json.context }} </end>";

const CODE_MODEL: &str = "hf:deepseek-ai/DeepSeek-V3";
const REASONING_MODEL: &str = "hf:moonshotai/Kimi-K2-Thinking";

fn example(dir: &str) -> PathBuf {
    PathBuf::from(format!("{}/../examples/{dir}", env!("CARGO_MANIFEST_DIR")))
}

/// Runs `node args` in `examples/<dir>` with `vars` and returns its stdout,
/// failing the test with both outputs if node fails. `script` (relative to
/// the example) must exist: for the npm examples it is their build output.
async fn node(dir: &str, args: &[&str], script: &str, vars: &[(&str, &str)]) -> String {
    let node = std::env::var("WWS_TEST_NODE")
        .expect("WWS_TEST_NODE is not set: run the suite with `cargo xtask test`");
    let dir = example(dir);
    assert!(
        dir.join(script).exists(),
        "{} is missing: run the suite with `cargo xtask test` (or `npm ci && npm run build` in {})",
        dir.join(script).display(),
        dir.display()
    );
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(node)
            .current_dir(dir)
            .args(args)
            .envs(vars)
            .output()
            .expect("node runs")
    })
    .await
    .expect("node finishes");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_client_streams_and_types_its_errors() {
    // One request a minute on /v1 lets the client's test reach a 429 at once.
    let env = Env::start_with(
        &[("rate_limits", r#"{"/v1/chat/completions": 1}"#)],
        Store::Memory,
    )
    .await;
    // The in-band error test streams from glm-4-plus (the fallback provider).
    env.fallback_script.push(Step::BreakStreamAfter(2));
    let script = "dist/test/wws.test.js";
    let stdout = node(
        "typescript",
        &["--test", "--test-reporter=tap", script],
        script,
        &[
            ("WWS_URL", &env.gateway.url),
            ("WWS_TOKEN", ALICE),
            ("WWS_LIMITED_TOKEN", BOB),
            ("WWS_QUESTION", QUESTION),
            ("WWS_BROKEN_STREAM_MODEL", "glm-4-plus"),
        ],
    )
    .await;
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.contains(&"# pass 5") && lines.contains(&"# fail 0"),
        "{stdout}"
    );

    // Plain (X-Task-Type: code), streamed, and Bob's one admitted request;
    // his refused one never left the gateway.
    let primary = env.primary.requests();
    assert_eq!(primary.len(), 3, "{primary:?}");
    let plain = primary[0].json();
    assert_eq!(plain["model"], CODE_MODEL);
    assert_eq!(
        plain["messages"],
        json!([
            { "role": "system", "content": "Answer in one line." },
            { "role": "user", "content": QUESTION },
        ])
    );
    let streamed = primary[1].json();
    assert_eq!(streamed["model"], REASONING_MODEL);
    assert_eq!(streamed["stream"], true);
    assert_eq!(streamed["messages"][0]["content"], QUESTION);
    // The broken stream was not retried: its first bytes had reached the client.
    assert_eq!(env.fallback.count(), 1);

    // The command-line example streams a code answer to stdout.
    let cli = "dist/src/chat.js";
    let url = env.gateway.url.clone();
    let answer = node("typescript", &[cli, &url, ALICE, QUESTION], cli, &[]).await;
    assert_eq!(answer, format!("primary answers with {CODE_MODEL} \n"));
    let sent = env.primary.requests()[3].json();
    assert_eq!(sent["model"], CODE_MODEL);
    assert_eq!(sent["messages"][0]["content"], QUESTION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_npm_package_works_plain_and_streamed() {
    let env = Env::start().await;
    let url = env.gateway.url.clone();
    let script = "dist/chat.js";
    let stdout = node("openai-node", &[script, &url, ALICE], script, &[]).await;
    assert!(stdout.contains("stream: "), "{stdout}");
    assert!(stdout.contains("unknown model: 400"), "{stdout}");
    let fallback = env.fallback.requests();
    assert_eq!(
        fallback.len(),
        2,
        "the unknown model never reached a provider"
    );
    // The streamed request asked the provider for usage; the SDK never saw it.
    let streamed = fallback[1].json();
    assert_eq!(streamed["stream"], true);
    assert_eq!(streamed["stream_options"]["include_usage"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_n8n_workflow_sends_valid_json_with_an_api_key() {
    let key = "wws-n8n-example-key-not-a-secret";
    let digest = hex::encode(sha2::Sha256::digest(key));
    let api_keys = json!([{ "sha256": digest, "principal": "n8n", "role": "service" }]);
    let env = Env::start_with(&[("api_keys", &api_keys.to_string())], Store::Memory).await;
    let script = "check.mjs";
    let stdout = node(
        "n8n",
        &[script],
        script,
        &[
            ("WWS_URL", &env.gateway.url),
            ("WWS_API_KEY", key),
            ("WWS_QUESTION", QUESTION),
        ],
    )
    .await;
    assert!(stdout.contains("auth: api-key"), "{stdout}");
    assert!(
        stdout.contains(&format!("route: primary {CODE_MODEL}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("answer: \"primary answers with"),
        "{stdout}"
    );
    assert_eq!(
        user_calls(&env.supabase),
        0,
        "an API key never reaches Supabase"
    );

    // The workflow's task type chose the code route; its context became the
    // system message; the question arrived byte for byte.
    let primary = env.primary.requests();
    assert_eq!(primary.len(), 1);
    let sent = primary[0].json();
    assert_eq!(sent["model"], CODE_MODEL);
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(
        sent["messages"][1],
        json!({ "role": "user", "content": QUESTION })
    );
}
