//! The architecture, enforced: mm's crates form layers (docs/ARCHITECTURE.md), every declared dependency is used,
//! and no library file imports another that imports it back (the layering of issue 28).
//!
//! Read from the sources, not the build: each crate's `Cargo.toml` and the `use` lines and `crate::`/`super::`
//! paths of its `src/`. Re-exports (`pub use`) and module declarations are not imports: a parent that lists its
//! children is not a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace's crates, bottom to top: a crate may depend on crates of lower layers only, so the modality
/// crates know nothing of each other and the two model families know nothing of each other.
const LAYERS: [(&str, u32); 12] = [
    ("mm-files", 0),
    ("mm-text", 1),
    ("mm-vision", 1),
    ("mm-audio", 1),
    ("mm-data", 2),
    ("mm-runner", 3),
    ("mm-joint", 4),
    ("mm-generate", 4),
    ("mm-tasks", 5),
    ("mm-benches", 6),
    ("xtask", 7),
    // Not a crate of the workspace: it stands for "no mm crate", for lookups that find none.
    ("", u32::MAX),
];

/// The runner and the data layer must not depend on any system's crate.
const BELOW_THE_SYSTEMS: [&str; 2] = ["mm-data", "mm-runner"];
const SYSTEM_CRATES: [&str; 3] = ["mm-joint", "mm-generate", "mm-tasks"];

/// Dependencies declared only to fix a feature set (the workspace `Cargo.toml` explains why): never named in
/// code, on purpose.
const FEATURE_PINS: [(&str, &str); 3] = [("mm-audio", "either"), ("mm-audio", "portable-atomic"), ("mm-audio", "ciborium")];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `(name, folder)` of every member of the workspace.
fn members() -> Vec<(String, PathBuf)> {
    let root = workspace();
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml")).unwrap().parse().unwrap();
    let members = manifest["workspace"]["members"].as_array().unwrap();
    members
        .iter()
        .map(|m| {
            let dir = root.join(m.as_str().unwrap());
            let own: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap().parse().unwrap();
            (own["package"]["name"].as_str().unwrap().to_string(), dir)
        })
        .collect()
}

/// A crate's `[dependencies]` (not dev, not build): `(package name, name in code)`.
fn dependencies(dir: &Path) -> Vec<(String, String)> {
    let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap().parse().unwrap();
    let Some(deps) = manifest.get("dependencies").and_then(|d| d.as_table()) else { return Vec::new() };
    deps.iter()
        .map(|(name, spec)| {
            let package = spec.get("package").and_then(|p| p.as_str()).unwrap_or(name).to_string();
            // md-5's library is `md5`; every other package's is its name with `_` for `-`.
            let in_code = if package == "md-5" { "md5".to_string() } else { name.replace('-', "_") };
            (package, in_code)
        })
        .collect()
}

fn layer(name: &str) -> u32 {
    LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l).unwrap_or_else(|| panic!("{name}: add it to LAYERS"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A file's code without its comments, its string literals and its test module (tests may import anything).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut code = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        code.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
                code.push_str("\"\"");
            }
            _ => code.push(c),
        }
    }
    code
}

#[test]
fn crates_depend_only_on_lower_layers() {
    let members = members();
    let names: BTreeSet<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    for (name, dir) in &members {
        for (package, _) in dependencies(dir) {
            if !names.contains(package.as_str()) {
                continue;
            }
            assert!(layer(&package) < layer(name), "{name} depends on {package}, which is not below it (layers: {LAYERS:?})");
            if BELOW_THE_SYSTEMS.contains(&name.as_str()) {
                assert!(!SYSTEM_CRATES.contains(&package.as_str()), "{name} must not depend on a system's crate ({package})");
            }
        }
    }
}

#[test]
fn every_declared_dependency_is_used() {
    let mut unused = Vec::new();
    for (name, dir) in members() {
        let code: String = rust_files(&dir.join("src")).iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
        for (package, in_code) in dependencies(&dir) {
            let used = [format!("{in_code}::"), format!("use {in_code}"), format!("extern crate {in_code}")].iter().any(|p| code.contains(p.as_str()));
            if !used && !FEATURE_PINS.contains(&(name.as_str(), package.as_str())) {
                unused.push(format!("{name}: {package}"));
            }
        }
    }
    assert!(unused.is_empty(), "declared in [dependencies] but named nowhere in src/: {unused:?}");
}

/// The module path of a source file: `src/lib.rs` → `[]`, `src/a/mod.rs` → `[a]`, `src/a/b.rs` → `[a, b]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    if matches!(parts.last().map(String::as_str), Some("lib" | "main" | "mod")) {
        parts.pop();
    }
    parts
}

/// Every path a `use` tree names: `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand_use(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    fn walk(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let Some(open) = tree.find('{') else {
            out.push(format!("{prefix}{tree}"));
            return;
        };
        let head = &tree[..open];
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    walk(&format!("{prefix}{head}"), &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if start < inner.len() {
            walk(&format!("{prefix}{head}"), &inner[start..], out);
        }
    }
    let mut out = Vec::new();
    walk("", &tree, &mut out);
    out
}

/// The module paths (as written: `crate::…`, `super::…`, `self::…`) that a file's code reads: its private `use`
/// lines and the paths it names inline. `pub use` lines re-export and are left out.
fn paths_read(code: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    let mut elsewhere = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = &rest[..at];
        let statement_start = before.rfind(['\n', ';', '{', '}']).map_or(0, |i| i + 1);
        let is_word = at == 0 || !before.ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let end = rest[at..].find(';').map_or(rest.len(), |e| at + e);
        if !is_word {
            elsewhere.push_str(&rest[..at + 4]);
            rest = &rest[at + 4..];
            continue;
        }
        elsewhere.push_str(&rest[..statement_start]);
        if before[statement_start..].trim().is_empty() {
            paths.extend(expand_use(&rest[at + 4..end]));
        }
        rest = &rest[(end + 1).min(rest.len())..];
    }
    elsewhere.push_str(rest);
    // Inline paths, e.g. `super::checkpoint::has_any(…)`.
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = elsewhere[from..].find(start) {
            let at = from + at;
            let is_word = at == 0 || !elsewhere[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
            let end = elsewhere[at..].find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).map_or(elsewhere.len(), |e| at + e);
            if is_word {
                paths.insert(elsewhere[at..end].trim_end_matches(':').to_string());
            }
            from = end.max(at + 1);
        }
    }
    paths
}

/// The module a path leads into, from `module`: the deepest module file on the way (`None` outside the crate).
fn resolve(path: &str, module: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let mut segments = path.split("::").filter(|s| !s.is_empty()).peekable();
    let mut base: Vec<String> = match segments.peek().copied() {
        Some("crate") => {
            segments.next();
            Vec::new()
        }
        Some("super") | Some("self") => module.to_vec(),
        _ => return None,
    };
    while let Some(segment) = segments.peek().copied() {
        match segment {
            "super" => {
                base.pop()?;
            }
            "self" => {}
            _ => break,
        }
        segments.next();
    }
    for segment in segments {
        let mut deeper = base.clone();
        deeper.push(segment.to_string());
        if !modules.contains(&deeper) {
            break;
        }
        base = deeper;
    }
    Some(base)
}

/// The strongly connected components of more than one file (Tarjan).
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        found: Vec<Vec<Vec<String>>>,
    }
    fn visit<'a>(node: &'a Vec<String>, state: &mut State<'a>) {
        let n = state.index.len();
        state.index.insert(node, n);
        state.low.insert(node, n);
        state.stack.push(node);
        state.on_stack.insert(node);
        for next in state.edges.get(node).into_iter().flatten() {
            if !state.index.contains_key(next) {
                visit(next, state);
                let low = state.low[next].min(state.low[node]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(next) {
                let low = state.index[next].min(state.low[node]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(top);
                component.push(top.clone());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                state.found.push(component);
            }
        }
    }
    let mut state = State { edges, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on_stack: BTreeSet::new(), found: Vec::new() };
    for node in edges.keys() {
        if !state.index.contains_key(node) {
            visit(node, &mut state);
        }
    }
    state.found
}

#[test]
fn no_library_file_imports_one_that_imports_it_back() {
    let mut found = Vec::new();
    // Library crates; xtask is the command line, its binary's files are not imported by anyone.
    for (name, dir) in members().into_iter().filter(|(_, dir)| dir.join("src/lib.rs").is_file()) {
        let src = dir.join("src");
        let files = rust_files(&src);
        let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
        let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for file in &files {
            let module = module_of(&src, file);
            let targets = paths_read(&code_of(file)).iter().filter_map(|p| resolve(p, &module, &modules)).filter(|t| *t != module).collect();
            edges.insert(module, targets);
        }
        for component in cycles(&edges) {
            let files: Vec<String> = component.iter().map(|m| if m.is_empty() { "lib.rs".into() } else { m.join("/") }).collect();
            found.push(format!("{name}: {}", files.join(" <-> ")));
        }
    }
    assert!(found.is_empty(), "import cycles between files:\n{}", found.join("\n"));
}

#[test]
fn the_cycle_finder_sees_a_cycle_and_the_use_parser_expands_groups() {
    let module = |m: &str| m.split('/').map(String::from).collect::<Vec<_>>();
    let modules: BTreeSet<_> = [vec![], module("a"), module("a/b"), module("c")].into_iter().collect();
    assert_eq!(expand_use("super::{b::{X, Y}, Z}"), vec!["super::b::X", "super::b::Y", "super::Z"]);
    assert_eq!(resolve("super::b::X", &module("a/c"), &modules), Some(module("a/b")));
    assert_eq!(resolve("crate::c::f", &module("a/b"), &modules), Some(module("c")));
    let read = paths_read("pub use super::b::X;\npub(crate) use crate::c;\nuse crate::c::f;\nfn g() { super::b::h() }");
    assert_eq!(read.into_iter().collect::<Vec<_>>(), vec!["crate::c::f", "super::b::h"]);
    let edges: BTreeMap<_, _> = [(module("a/b"), [module("c")].into()), (module("c"), [module("a/b")].into()), (module("a"), BTreeSet::new())].into();
    assert_eq!(cycles(&edges).len(), 1);
}
