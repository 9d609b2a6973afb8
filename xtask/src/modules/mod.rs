//! `cargo xtask modules`: every dependency between the modules of a
//! workspace crate must point one way. A cycle (`a` uses `b`, `b` uses
//! `a`, perhaps through others) means neither can be read, tested or moved
//! alone, so the check fails on one and names the lines that close it.

mod cycles;
mod refs;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use tree::ModuleTree;

/// A dependency between two files of one crate, with the line that makes it.
pub struct Edge {
    pub from: PathBuf,
    pub to: PathBuf,
    pub line: usize,
}

/// Checks every crate of the workspace; prints and fails on cycles.
pub fn run(root: &Path) -> Result<()> {
    let mut failures = 0;
    let roots = crate_roots(root)?;
    for crate_root in &roots {
        let found = cycles_in(crate_root)?;
        for cycle in &found {
            failures += 1;
            println!("cycle in the crate of {}:", shown(root, crate_root));
            for edge in cycle {
                println!(
                    "  {}:{} uses {}",
                    shown(root, &edge.from),
                    edge.line,
                    shown(root, &edge.to)
                );
            }
        }
    }
    if failures > 0 {
        bail!("{failures} module cycle(s); every dependency must point one way");
    }
    println!("{} crates, no module cycle", roots.len());
    Ok(())
}

/// The cycles of the crate rooted at `crate_root`: each as the edges
/// between the files of one strongly connected set.
pub fn cycles_in(crate_root: &Path) -> Result<Vec<Vec<Edge>>> {
    let tree = ModuleTree::read(crate_root)?;
    let edges = edges(&tree);
    let mut graph: BTreeMap<&Path, BTreeSet<&Path>> = BTreeMap::new();
    for edge in &edges {
        graph.entry(&edge.from).or_default().insert(&edge.to);
    }
    let sets = cycles::strongly_connected(&graph);
    Ok(sets
        .into_iter()
        .map(|set| {
            edges
                .iter()
                .filter(|edge| set.contains(edge.from.as_path()) && set.contains(edge.to.as_path()))
                .map(|edge| Edge {
                    from: edge.from.clone(),
                    to: edge.to.clone(),
                    line: edge.line,
                })
                .collect()
        })
        .collect())
}

/// One edge per pair of files (the first line that makes it).
fn edges(tree: &ModuleTree) -> Vec<Edge> {
    let mut seen = BTreeSet::new();
    let mut edges = Vec::new();
    for (file, module, items) in tree.file_scopes() {
        for (from_module, reference) in refs::collect(tree, module, items) {
            let (Some(from), Some(to)) =
                (tree.file_of(&from_module), tree.file_of(&reference.target))
            else {
                continue;
            };
            debug_assert_eq!(from, file);
            if from != to && seen.insert((from.to_path_buf(), to.to_path_buf())) {
                edges.push(Edge {
                    from: from.to_path_buf(),
                    to: to.to_path_buf(),
                    line: reference.line,
                });
            }
        }
    }
    edges
}

/// The root file of every crate in the workspace and the fuzz workspace:
/// libraries, binaries and integration test crates.
fn crate_roots(root: &Path) -> Result<Vec<PathBuf>> {
    let mut packages = vec![
        root.join("host"),
        root.join("tests"),
        root.join("bench"),
        root.join("xtask"),
        root.join("fuzz"),
    ];
    packages.extend(subdirectories(&root.join("components"))?);
    let mut roots = Vec::new();
    for package in packages {
        for file in ["src/lib.rs", "src/main.rs"] {
            let path = package.join(file);
            if path.exists() {
                roots.push(path);
            }
        }
        for dir in subdirectories(&package.join("tests"))? {
            let path = dir.join("main.rs");
            if path.exists() {
                roots.push(path);
            }
        }
    }
    Ok(roots)
}

fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests;
