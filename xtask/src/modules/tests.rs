use super::*;

/// A throw-away crate under the system temp dir, removed on drop.
struct Sandbox(PathBuf);

impl Sandbox {
    fn new(name: &str, files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("wws-modules-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        Self(dir)
    }

    fn cycles(&self) -> Vec<Vec<Edge>> {
        cycles_in(&self.0.join("lib.rs")).expect("readable crate")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_sibling_loop_through_use_and_paths_is_found() {
    let sandbox = Sandbox::new(
        "loop",
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b;\npub fn f() { b::g() }\n"),
            ("b.rs", "pub fn g() { super::a::h() }\n"),
        ],
    );
    let cycles = sandbox.cycles();
    assert_eq!(cycles.len(), 1);
    let lines: BTreeSet<usize> = cycles[0].iter().map(|edge| edge.line).collect();
    assert_eq!(lines, BTreeSet::from([1]));
}

#[test]
fn a_child_that_uses_its_parent_closes_a_loop() {
    let sandbox = Sandbox::new(
        "parent",
        &[
            ("lib.rs", "mod ai;\n"),
            (
                "ai/mod.rs",
                "mod body;\npub struct Plan;\npub fn run() { body::parse() }\n",
            ),
            ("ai/body.rs", "use super::Plan;\npub fn parse() {}\n"),
        ],
    );
    assert_eq!(sandbox.cycles().len(), 1);
}

#[test]
fn dependencies_that_point_down_pass() {
    let sandbox = Sandbox::new(
        "down",
        &[
            (
                "lib.rs",
                "mod ai;\nmod context;\npub fn handle() { ai::run(context::Context) }\n",
            ),
            ("context.rs", "pub struct Context;\n"),
            (
                "ai/mod.rs",
                "mod body;\nuse crate::context::Context;\npub fn run(_: Context) { body::parse() }\n",
            ),
            (
                "ai/body.rs",
                "use crate::context::{self, Context};\npub fn parse() { let _ = context::Context; }\n",
            ),
        ],
    );
    assert!(sandbox.cycles().is_empty());
}

#[test]
fn test_modules_may_use_what_they_test() {
    let sandbox = Sandbox::new(
        "tests",
        &[
            (
                "lib.rs",
                "mod a;\npub fn f() { a::g() }\n#[cfg(test)]\nmod tests;\n",
            ),
            (
                "a.rs",
                "pub fn g() {}\n#[cfg(test)]\nmod tests { use crate::f; }\n",
            ),
            ("tests.rs", "use super::*;\n"),
        ],
    );
    assert!(sandbox.cycles().is_empty());
}

#[test]
fn paths_to_other_crates_are_not_followed() {
    let sandbox = Sandbox::new(
        "external",
        &[
            ("lib.rs", "mod a;\npub fn f() { a::g() }\n"),
            (
                "a.rs",
                "use std::collections::BTreeMap;\npub fn g() { serde_json::json!(1); }\n",
            ),
        ],
    );
    assert!(sandbox.cycles().is_empty());
}

/// The guard itself: the project's crates keep their layering.
#[test]
fn the_workspace_has_no_module_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace");
    let mut found = Vec::new();
    for crate_root in crate_roots(root).expect("the crate roots") {
        for cycle in cycles_in(&crate_root).expect("a readable crate") {
            for edge in cycle {
                found.push(format!(
                    "{}:{} uses {}",
                    shown(root, &edge.from),
                    edge.line,
                    shown(root, &edge.to)
                ));
            }
        }
    }
    assert!(found.is_empty(), "module cycles:\n{}", found.join("\n"));
}
