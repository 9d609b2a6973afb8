//! The references one module makes to the rest of its crate: `use`
//! declarations and paths in code (`crate::x`, `super::y`, a child module,
//! or a name brought in by `use`), each traced to the module it names.

use std::collections::BTreeMap;

use syn::visit::Visit;

use super::tree::{ModulePath, ModuleTree, is_test_only};

/// One reference: the module it points into and the line it is on.
pub struct Reference {
    pub target: ModulePath,
    pub line: usize,
}

/// The references made by the items of `module`, with inline modules
/// followed under their own path.
pub fn collect(
    tree: &ModuleTree,
    module: &[String],
    items: &[syn::Item],
) -> Vec<(ModulePath, Reference)> {
    let mut scope = Scope {
        tree,
        module: module.to_vec(),
        aliases: BTreeMap::new(),
        found: Vec::new(),
    };
    scope.items(items);
    scope.found
}

struct Scope<'a> {
    tree: &'a ModuleTree,
    module: ModulePath,
    /// Names `use` binds in this module, with the absolute path they stand for.
    aliases: BTreeMap<String, ModulePath>,
    found: Vec<(ModulePath, Reference)>,
}

impl Scope<'_> {
    fn items(&mut self, items: &[syn::Item]) {
        // Uses first: a name may be used above the `use` that brings it in.
        for item in items {
            if let syn::Item::Use(declared) = item {
                let mut prefix = Vec::new();
                self.use_tree(&declared.tree, &mut prefix);
            }
        }
        for item in items {
            match item {
                syn::Item::Use(_) => {}
                syn::Item::Mod(declared) => {
                    if is_test_only(&declared.attrs) {
                        continue;
                    }
                    if let Some((_, inline)) = &declared.content {
                        let child = self.child(&declared.ident.to_string());
                        self.found.extend(collect(self.tree, &child, inline));
                    }
                }
                other => self.visit_item(other),
            }
        }
    }

    fn child(&self, name: &str) -> ModulePath {
        self.module
            .iter()
            .cloned()
            .chain([name.to_string()])
            .collect()
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.use_tree(&path.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                self.bind(
                    prefix,
                    &name.ident.to_string(),
                    &name.ident.to_string(),
                    name.ident.span(),
                );
            }
            syn::UseTree::Rename(rename) => {
                self.bind(
                    prefix,
                    &rename.ident.to_string(),
                    &rename.rename.to_string(),
                    rename.ident.span(),
                );
            }
            syn::UseTree::Glob(glob) => {
                let line = glob.star_token.spans[0].start().line;
                self.record(prefix, line);
            }
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    self.use_tree(tree, prefix);
                }
            }
        }
    }

    fn bind(&mut self, prefix: &[String], name: &str, alias: &str, span: proc_macro2::Span) {
        let (segments, bound) = if name == "self" {
            (prefix.to_vec(), prefix.last().cloned().unwrap_or_default())
        } else {
            let segments = prefix.iter().cloned().chain([name.to_string()]).collect();
            (segments, alias.to_string())
        };
        if let Some((target, whole)) = self.resolve(&segments) {
            if whole {
                self.aliases.insert(bound, target.clone());
            }
            let line = span.start().line;
            self.found
                .push((self.module.clone(), Reference { target, line }));
        }
    }

    fn record(&mut self, segments: &[String], line: usize) {
        if let Some((target, _)) = self.resolve(segments) {
            self.found
                .push((self.module.clone(), Reference { target, line }));
        }
    }

    /// The deepest module of this crate that `segments` names, and whether
    /// the whole path is that module; `None` for a path into another
    /// crate, the prelude or a local item.
    fn resolve(&self, segments: &[String]) -> Option<(ModulePath, bool)> {
        let (first, rest) = segments.split_first()?;
        let (base, rest) = match first.as_str() {
            "crate" => (Vec::new(), rest),
            "self" => (self.module.clone(), rest),
            "super" => {
                let mut base = self.module.clone();
                base.pop();
                let mut rest = rest;
                while rest.first().is_some_and(|segment| segment == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                (base, rest)
            }
            name => match self.aliases.get(name) {
                Some(target) => (target.clone(), rest),
                None if self.tree.contains(&self.child(name)) => (self.child(name), rest),
                None => return None,
            },
        };
        Some(self.descend(base, rest))
    }

    fn descend(&self, mut base: ModulePath, rest: &[String]) -> (ModulePath, bool) {
        for segment in rest {
            base.push(segment.clone());
            if !self.tree.contains(&base) {
                base.pop();
                return (base, false);
            }
        }
        (base, true)
    }
}

impl<'ast> Visit<'ast> for Scope<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path
            .segments
            .iter()
            .map(|segment| segment.ident.to_string())
            .collect();
        if segments.len() > 1 {
            let line = path.segments[0].ident.span().start().line;
            self.record(&segments, line);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {
        // Modules nested in functions are rare and left to the compiler.
    }
}
