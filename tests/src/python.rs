//! Running the official Python SDKs against the gateway, as users do:
//! `cargo xtask test` installs them and sets `WWS_TEST_PYTHON`.

/// Runs the suite's Python with `args` off the async runtime and returns
/// its stdout, failing the test with both streams if it did not succeed.
pub async fn run(args: Vec<String>) -> String {
    let python = std::env::var("WWS_TEST_PYTHON")
        .expect("WWS_TEST_PYTHON is not set: run the suite with `cargo xtask test`");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args(args)
            .output()
            .expect("python runs")
    })
    .await
    .expect("python finishes");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    stdout
}

/// The path of a client example under `examples/`.
pub fn example(path: &str) -> String {
    format!("{}/../examples/{path}", env!("CARGO_MANIFEST_DIR"))
}
