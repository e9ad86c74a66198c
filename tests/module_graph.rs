//! No module import circles: within each hand-written crate, the top-level modules that refer to
//! one another (`crate::x`, `super::x`, or an item the crate root re-exports from `x`) form no
//! cycle. A cycle is reported with the files that close it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The crates whose modules are checked (generated files are skipped).
const CRATES: &[&str] = &[
    "crates/agentapis",
    "crates/agentapis-runtime",
    "crates/agentapis-paging",
    "crates/standin",
    "xtask",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file below `src` (`src/pages/rules.rs` → `[pages, rules]`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib" || p == "main") {
        parts.pop();
    }
    parts
}

/// Every path that starts at `crate` or `super`, as written.
#[derive(Default)]
struct Paths(Vec<Vec<String>>);

impl Paths {
    fn tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.push(prefix, &n.ident),
            syn::UseTree::Rename(r) => self.push(prefix, &r.ident),
            syn::UseTree::Glob(_) => self.0.push(prefix.clone()),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.tree(prefix, t)),
        }
    }

    fn push(&mut self, prefix: &[String], last: &syn::Ident) {
        let mut path = prefix.to_vec();
        path.push(last.to_string());
        self.0.push(path);
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.0.push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }
}

/// Root re-exports (`pub use client::{Client, ..}` in lib.rs): item name → top-level module.
fn root_items(root: &syn::File, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for item in &root.items {
        let syn::Item::Use(u) = item else { continue };
        let mut paths = Paths::default();
        paths.tree(&mut Vec::new(), &u.tree);
        for path in paths.0 {
            if let (Some(first), Some(last)) = (path.first(), path.last()) {
                if modules.contains(first) && path.len() > 1 {
                    map.insert(last.clone(), first.clone());
                }
            }
        }
    }
    map
}

/// Edges between top-level modules, each with a file that makes it.
fn edges(krate: &Path) -> BTreeMap<(String, String), PathBuf> {
    let src = krate.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.retain(|f| !f.ends_with("generated.rs"));
    let parsed: Vec<(PathBuf, syn::File)> = files
        .into_iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(&f).ok()?;
            Some((f, syn::parse_file(&text).expect("a hand-written file parses")))
        })
        .collect();
    let modules: BTreeSet<String> = parsed
        .iter()
        .filter_map(|(f, _)| module_path(&src, f).first().cloned())
        .collect();
    let root = parsed
        .iter()
        .find(|(f, _)| module_path(&src, f).is_empty() && f.ends_with("lib.rs"))
        .map(|(_, file)| root_items(file, &modules))
        .unwrap_or_default();
    let mut edges = BTreeMap::new();
    for (file, ast) in &parsed {
        let here = module_path(&src, file);
        let Some(from) = here.first() else { continue };
        let mut paths = Paths::default();
        paths.visit_file(ast);
        for path in paths.0 {
            // Resolve `crate::` and `super::` to a path from the crate root.
            let absolute: Vec<String> = match path.first().map(String::as_str) {
                Some("crate") => path[1..].to_vec(),
                Some("super") => {
                    let mut base = here.clone();
                    let mut rest = &path[..];
                    while rest.first().is_some_and(|s| s == "super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    base.extend(rest.iter().cloned());
                    base
                }
                _ => continue,
            };
            let Some(first) = absolute.first() else { continue };
            let to = if modules.contains(first) {
                first.clone()
            } else if let Some(module) = root.get(first) {
                module.clone()
            } else {
                continue;
            };
            if &to != from {
                edges.entry((from.clone(), to)).or_insert_with(|| file.clone());
            }
        }
    }
    edges
}

/// A cycle among `edges`, if any, as the modules in order.
fn cycle(edges: &BTreeMap<(String, String), PathBuf>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    fn visit<'a>(
        node: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| *n == node) {
            let mut found: Vec<String> = stack[at..].iter().map(|s| (*s).to_owned()).collect();
            found.push(node.to_owned());
            return Some(found);
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for to in next.get(node).into_iter().flatten() {
            if let Some(found) = visit(to, next, stack, done) {
                return Some(found);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    next.keys()
        .copied()
        .find_map(|start| visit(start, &next, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_has_a_module_import_circle() {
    let mut failures = Vec::new();
    for krate in CRATES {
        let edges = edges(&workspace().join(krate));
        assert!(
            !edges.is_empty() || *krate == "crates/agentapis-paging",
            "{krate}: no module edges found"
        );
        if let Some(found) = cycle(&edges) {
            let files: Vec<String> = found
                .windows(2)
                .filter_map(|w| edges.get(&(w[0].clone(), w[1].clone())))
                .map(|f| f.display().to_string())
                .collect();
            failures.push(format!("{krate}: {} (through {})", found.join(" → "), files.join(", ")));
        }
    }
    assert!(failures.is_empty(), "module import circles:\n{}", failures.join("\n"));
}

#[test]
fn the_checker_finds_a_circle() {
    let edge = |a: &str, b: &str| ((a.to_owned(), b.to_owned()), PathBuf::from(format!("{a}.rs")));
    let acyclic = BTreeMap::from([edge("client", "error"), edge("pages", "error"), edge("client", "pages")]);
    assert_eq!(cycle(&acyclic), None);
    let circle = BTreeMap::from([
        edge("agentiv", "error"),
        edge("error", "agentiv"),
        edge("client", "error"),
    ]);
    let found = cycle(&circle).expect("a circle");
    assert_eq!(found.first(), found.last());
    assert!(found.contains(&"agentiv".to_owned()) && found.contains(&"error".to_owned()));
}
