//! The module tree of one crate, read from its source files: which file
//! holds each module, so a path such as `crate::ai::body::parse` can be
//! traced to the file it points into.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A module's absolute path inside its crate (`[]` is the crate root).
pub type ModulePath = Vec<String>;

/// Every module of a crate and the file that defines it. Inline modules
/// (`mod x { ... }`) map to the file they are written in.
#[derive(Default)]
pub struct ModuleTree {
    files: BTreeMap<ModulePath, PathBuf>,
    /// Each file with the module it is and its parsed source.
    sources: BTreeMap<PathBuf, (ModulePath, syn::File)>,
}

impl ModuleTree {
    /// Reads the crate whose root file is `root` (`lib.rs`, `main.rs`).
    /// Modules compiled only for tests are left out: a test module may
    /// lean on the module it tests without that being a layering problem.
    pub fn read(root: &Path) -> Result<Self> {
        let mut tree = Self::default();
        tree.read_file(Vec::new(), root, root.parent().unwrap_or(Path::new(".")))?;
        Ok(tree)
    }

    pub fn contains(&self, module: &[String]) -> bool {
        self.files.contains_key(module)
    }

    pub fn file_of(&self, module: &[String]) -> Option<&Path> {
        self.files.get(module).map(PathBuf::as_path)
    }

    /// Every file with the module it is and its top-level items.
    pub fn file_scopes(&self) -> impl Iterator<Item = (&Path, &ModulePath, &[syn::Item])> {
        self.sources
            .iter()
            .map(|(file, (module, parsed))| (file.as_path(), module, parsed.items.as_slice()))
    }

    fn read_file(&mut self, module: ModulePath, file: &Path, children_dir: &Path) -> Result<()> {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let parsed =
            syn::parse_file(&text).with_context(|| format!("parsing {}", file.display()))?;
        self.files.insert(module.clone(), file.to_path_buf());
        self.read_items(&module, &parsed.items, file, children_dir)?;
        self.sources.insert(file.to_path_buf(), (module, parsed));
        Ok(())
    }

    fn read_items(
        &mut self,
        module: &[String],
        items: &[syn::Item],
        file: &Path,
        children_dir: &Path,
    ) -> Result<()> {
        for item in items {
            let syn::Item::Mod(declared) = item else {
                continue;
            };
            if is_test_only(&declared.attrs) {
                continue;
            }
            let name = declared.ident.to_string();
            let child: ModulePath = module.iter().cloned().chain([name.clone()]).collect();
            match &declared.content {
                Some((_, inline)) => {
                    self.files.insert(child.clone(), file.to_path_buf());
                    self.read_items(&child, inline, file, &children_dir.join(&name))?;
                }
                None => {
                    let flat = children_dir.join(format!("{name}.rs"));
                    let (child_file, grandchildren) = if flat.exists() {
                        (flat, children_dir.join(&name))
                    } else {
                        (
                            children_dir.join(&name).join("mod.rs"),
                            children_dir.join(&name),
                        )
                    };
                    self.read_file(child, &child_file, &grandchildren)?;
                }
            }
        }
        Ok(())
    }
}

/// `#[cfg(test)]`.
pub fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .meta
                .require_list()
                .is_ok_and(|list| list.tokens.to_string() == "test")
    })
}
