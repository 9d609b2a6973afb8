//! The container's command, tested where no Docker engine runs: the exact
//! arguments compose.yaml gives `spin up` in the official Spin image, with
//! the runtime config the Dockerfile copies into it, run by wws-host against
//! a real Redis. Only the addresses change: the listen port (ephemeral) and
//! the Redis host (`redis` in compose, this suite's Redis here).

use std::path::{Path, PathBuf};

use crate::support::{Running, host, parallel_statuses, repo_manifest, request, sha256_hex};

const CONTAINER_RUNTIME_CONFIG: &str = "deploy/container/runtime-config-redis.toml";
const COMPOSE_REDIS_URL: &str = "redis://redis:6379";

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// The `command:` of compose.yaml's `wws` service: a YAML flow sequence of
/// double-quoted strings, which is also a JSON array.
fn compose_command() -> Vec<String> {
    let compose = std::fs::read_to_string(repo_file("compose.yaml")).unwrap();
    let (_, wws) = compose
        .split_once("\n  wws:\n")
        .expect("compose.yaml has a wws service");
    let line = wws
        .lines()
        .find_map(|line| line.trim().strip_prefix("command:"))
        .expect("the wws service has a command");
    serde_json::from_str(line.trim()).expect("command is a flow sequence of quoted strings")
}

/// The container's arguments with the manifest and runtime config the image
/// holds, on an ephemeral port, with this suite's Redis.
fn container_args(redis: &str, config_dir: &Path) -> Vec<String> {
    let runtime_config = std::fs::read_to_string(repo_file(CONTAINER_RUNTIME_CONFIG)).unwrap();
    assert!(
        runtime_config.contains(COMPOSE_REDIS_URL),
        "{runtime_config}"
    );
    let local = config_dir.join("runtime-config-redis.toml");
    std::fs::write(&local, runtime_config.replace(COMPOSE_REDIS_URL, redis)).unwrap();
    compose_command()
        .into_iter()
        .map(|arg| match arg.as_str() {
            "spin.toml" => repo_manifest().display().to_string(),
            "runtime-config-redis.toml" => local.display().to_string(),
            "0.0.0.0:3000" => "127.0.0.1:0".to_string(),
            _ => arg,
        })
        .collect()
}

#[test]
fn the_image_serves_what_the_test_runs() {
    let dockerfile = std::fs::read_to_string(repo_file("Dockerfile")).unwrap();
    assert!(dockerfile.contains("FROM ghcr.io/spinframework/spin:"));
    assert!(dockerfile.contains(&format!("COPY {CONTAINER_RUNTIME_CONFIG} ./")));
    assert!(dockerfile.contains("COPY spin.toml "));
    assert!(dockerfile.contains("/src/target/wws.wasm ./target/wws.wasm"));
    assert!(dockerfile.contains("ENTRYPOINT [\"spin\"]"));
    let command = compose_command();
    assert_eq!(command[0], "up", "{command:?}");
    for flag in ["--from", "--listen", "--runtime-config-file"] {
        assert!(command.iter().any(|arg| arg == flag), "{command:?}");
    }
}

/// Two containers' worth of WWS on one Redis: `check` passes with the
/// container's configuration, both report the shared store healthy, and 60
/// parallel requests from one principal spread over both admit exactly the
/// limit.
#[test]
fn two_containers_on_one_redis_share_state() {
    let redis = std::env::var("WWS_TEST_REDIS_URL")
        .expect("WWS_TEST_REDIS_URL is not set: run the suite with `cargo xtask test`");
    let config_dir = tempfile::tempdir().unwrap();
    let args = container_args(&redis, config_dir.path());

    let check_args: Vec<&str> = {
        let mut check = vec!["check"];
        let mut rest = args[1..].iter();
        while let Some(arg) = rest.next() {
            if arg == "--listen" {
                rest.next();
            } else {
                check.push(arg);
            }
        }
        check
    };
    let checked = host().args(&check_args).output().unwrap();
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(stdout.contains("Redis redis://127.0.0.1"), "{stdout}");
    assert!(stdout.contains("atomics included"), "{stdout}");

    let key = format!(
        "container-test-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut with_variables = args.clone();
    with_variables.extend([
        "--variable".to_string(),
        r#"rate_limits={"default": 20}"#.to_string(),
        "--variable".to_string(),
        format!(
            r#"api_keys=[{{"sha256": "{}", "principal": "{key}"}}]"#,
            sha256_hex(&key)
        ),
    ]);
    let containers = [
        Running::spawn(&with_variables, tempfile::tempdir().unwrap()),
        Running::spawn(&with_variables, tempfile::tempdir().unwrap()),
    ];
    for container in &containers {
        let health = request(&container.url, "GET /api/wws/health", "", "");
        assert!(
            health.contains(r#""kv":{"atomics":true,"reachable":true}"#),
            "{health}"
        );
    }
    let statuses = parallel_statuses(&containers, &key, 60);
    let limited = statuses.iter().filter(|status| *status == "429").count();
    assert_eq!(limited, 40, "{statuses:?}");
}
