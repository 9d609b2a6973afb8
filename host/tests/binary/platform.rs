//! `--platform`: the standard build, whose counters need key-value atomics,
//! is refused by name where the platform has none, before anything serves.

use crate::support::{host, repo_manifest};

#[test]
fn the_standard_build_is_refused_where_there_are_no_key_value_atomics() {
    for (platform, title) in [
        ("akamai", "Akamai Functions"),
        ("fermyon-cloud", "Fermyon Cloud"),
    ] {
        let state = tempfile::tempdir().unwrap();
        let output = host()
            .args(["check", "-f"])
            .arg(repo_manifest())
            .args(["--platform", platform, "--state-dir"])
            .arg(state.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{platform}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "the component imports `wasi:keyvalue/atomics@0.2.0-draft2`, which {title} \
                 does not provide (--platform {platform})"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn an_unknown_platform_lists_the_known_ones() {
    let output = host()
        .args(["check", "--platform", "aws-lambda"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[possible values: spin, akamai, fermyon-cloud]"),
        "{stderr}"
    );
}
