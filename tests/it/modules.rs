//! Dependencies inside `src/` point one way: no import cycles between the
//! top-level modules, nor between the files of one module folder.
//!
//! The graph is built from the source text: every `crate::…`, `super::…` and
//! `self::…` path (use trees expanded), and in a module's own file
//! (`mod.rs`, `lib.rs`, `sim/cli.rs`) the paths that start with one of its
//! child modules. A path names a node in the folder where it leaves the
//! referring file's module path: `sim/fleet.rs` using `crate::inventory::X`
//! is the edge `sim → inventory` in `src/`, using `super::server::Y` the edge
//! `fleet → server` in `src/sim/`. An item of a folder's module file counts as
//! the file that `pub use` re-exports it from, else as the module file itself
//! (`(mod)`). `pub use child::…` in a module file is the folder's facade, not
//! a dependency of the module file on its child.
//!
//! Excluded: code under `#[cfg(test)]` (test modules may use anything, e.g.
//! the simulator), comments, and `src/main.rs` (the binary, which uses the
//! library by its name).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Path, // `::`
    Open,
    Close,
    Comma,
    Semi,
    Hash,
    Star,
    Other,
}

/// The tokens of a Rust file that matter here, each with its line; string and
/// character literals and comments are skipped.
fn tokenize(text: &str) -> Vec<(Tok, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let skip_to = |i: &mut usize, line: &mut usize, end: usize| {
        *line += b[*i..end.min(b.len())]
            .iter()
            .filter(|c| **c == b'\n')
            .count();
        *i = end.min(b.len());
    };
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"//") {
            let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            skip_to(&mut i, &mut line, end);
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            skip_to(&mut i, &mut line, end);
        } else if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            skip_to(&mut i, &mut line, j + 1);
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                // Past the backslash and the escaped character.
                let end = text[i + 3..].find('\'').map_or(b.len(), |n| i + 3 + n + 1);
                skip_to(&mut i, &mut line, end);
            } else if let Some(ch) = text[i + 1..].chars().next()
                && text[i + 1 + ch.len_utf8()..].starts_with('\'')
            {
                i += 1 + ch.len_utf8() + 1;
            } else {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            // Raw and byte strings: r"…", r#"…"#, b"…", br#"…"#.
            if matches!(word, "r" | "br" | "b") && i < b.len() && (b[i] == b'"' || b[i] == b'#') {
                let hashes = b[i..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + hashes) == Some(&b'"') {
                    if word == "b" && hashes == 0 {
                        let mut j = i + 1;
                        while j < b.len() && b[j] != b'"' {
                            j += if b[j] == b'\\' { 2 } else { 1 };
                        }
                        skip_to(&mut i, &mut line, j + 1);
                    } else {
                        let close = format!("\"{}", "#".repeat(hashes));
                        let from = i + hashes + 1;
                        let end = text[from..]
                            .find(&close)
                            .map_or(b.len(), |n| from + n + close.len());
                        skip_to(&mut i, &mut line, end);
                    }
                    continue;
                }
            }
            out.push((Tok::Ident(word.to_string()), line));
        } else {
            let tok = match c {
                b':' if b.get(i + 1) == Some(&b':') => {
                    i += 1;
                    Tok::Path
                }
                b'{' => Tok::Open,
                b'}' => Tok::Close,
                b',' => Tok::Comma,
                b';' => Tok::Semi,
                b'#' => Tok::Hash,
                b'*' => Tok::Star,
                _ => Tok::Other,
            };
            out.push((tok, line));
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

fn ident(t: Option<&(Tok, usize)>) -> Option<&str> {
    match t {
        Some((Tok::Ident(s), _)) => Some(s),
        _ => None,
    }
}

/// Drop every item under `#[cfg(test)]`; returns the kept tokens and the
/// names of test-only child module files (`#[cfg(test)] mod tests;`).
fn without_tests(toks: Vec<(Tok, usize)>) -> (Vec<(Tok, usize)>, Vec<String>) {
    let (mut kept, mut test_files) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < toks.len() {
        let is_cfg_test = toks[i].0 == Tok::Hash
            && ident(toks.get(i + 2)) == Some("cfg")
            && ident(toks.get(i + 4)) == Some("test");
        if !is_cfg_test {
            kept.push(toks[i].clone());
            i += 1;
            continue;
        }
        // Skip the attribute (`# [ cfg ( test ) ]`), then the item: up to
        // its `;` or through its balanced `{ … }`.
        i += 7;
        let mut depth = 0;
        while i < toks.len() {
            match &toks[i].0 {
                Tok::Ident(name)
                    if depth == 0
                        && ident(toks.get(i.wrapping_sub(1))) == Some("mod")
                        && toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Semi) =>
                {
                    test_files.push(name.clone());
                }
                Tok::Semi if depth == 0 => break,
                Tok::Open => depth += 1,
                Tok::Close => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    (kept, test_files)
}

/// Parse a use tree (or a plain path) starting at `toks[i]`; every leaf path
/// goes to `out` (prefixed by `prefix`) with the name it is used by (its last
/// segment, or its `as` alias). Returns the index after the tree.
fn use_tree(
    toks: &[(Tok, usize)],
    mut i: usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, String)>,
) -> usize {
    let mut path = prefix.to_vec();
    loop {
        match toks.get(i).map(|t| &t.0) {
            Some(Tok::Ident(s)) if s != "as" => {
                path.push(s.clone());
                i += 1;
            }
            Some(Tok::Star) => {
                path.push("*".into());
                i += 1;
            }
            Some(Tok::Open) => {
                i += 1;
                loop {
                    match toks.get(i).map(|t| &t.0) {
                        Some(Tok::Close) => return i + 1,
                        Some(Tok::Comma) => i += 1,
                        None => return i,
                        _ => {
                            let next = use_tree(toks, i, &path, out);
                            i = if next == i { i + 1 } else { next };
                        }
                    }
                }
            }
            _ => break,
        }
        if toks.get(i).map(|t| &t.0) == Some(&Tok::Path) {
            i += 1;
        } else {
            break;
        }
    }
    let mut name = path.last().cloned().unwrap_or_default();
    if ident(toks.get(i)) == Some("as") {
        name = ident(toks.get(i + 1)).unwrap_or_default().to_string();
        i += 2;
    }
    if path.len() > prefix.len() {
        out.push((path, name));
    }
    i
}

/// One source file of the library.
struct File {
    rel: String,
    /// Its module path (`[]` for lib.rs, `["sim", "fleet"]` for sim/fleet.rs).
    module: Vec<String>,
    /// lib.rs, mod.rs, or `x.rs` beside an `x/` folder.
    is_module_file: bool,
    toks: Vec<(Tok, usize)>,
    /// Names of the items it defines (`struct X`, `fn x`, …).
    items: BTreeSet<String>,
}

/// A reference to `path` (absolute, may end in an item) from a file, at a
/// line. In a module file's `pub use`, `reexport` is the name it is
/// re-exported as, and `facade` says it re-exports one of its own children.
struct Ref {
    path: Vec<String>,
    line: usize,
    reexport: Option<String>,
    facade: bool,
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn load(src: &Path) -> Vec<File> {
    let mut paths = Vec::new();
    rs_files(src, &mut paths);
    let mut files = Vec::new();
    let mut test_only = BTreeSet::new();
    for path in paths {
        let rel = path
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "main.rs" {
            continue;
        }
        let mut module: Vec<String> = rel
            .trim_end_matches(".rs")
            .split('/')
            .map(String::from)
            .collect();
        let mut is_module_file = path.with_extension("").is_dir();
        if rel == "lib.rs" {
            module.clear();
            is_module_file = true;
        } else if module.last().is_some_and(|m| m == "mod") {
            module.pop();
            is_module_file = true;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let (toks, tests) = without_tests(tokenize(&text));
        let items = toks
            .windows(2)
            .filter_map(|w| match (&w[0].0, &w[1].0) {
                (Tok::Ident(kw), Tok::Ident(name))
                    if matches!(
                        kw.as_str(),
                        "struct"
                            | "enum"
                            | "fn"
                            | "trait"
                            | "type"
                            | "const"
                            | "static"
                            | "union"
                            | "macro_rules"
                    ) =>
                {
                    Some(name.clone())
                }
                _ => None,
            })
            .collect();
        for t in tests {
            let mut m = module.clone();
            m.push(t);
            test_only.insert(m);
        }
        files.push(File {
            rel,
            module,
            is_module_file,
            toks,
            items,
        });
    }
    files.retain(|f| !test_only.iter().any(|t| f.module.starts_with(t)));
    files
}

fn refs(file: &File, children: &BTreeSet<String>) -> Vec<Ref> {
    let toks = &file.toks;
    let mut out = Vec::new();
    let (mut i, mut in_pub_use) = (0, false);
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Semi => in_pub_use = false,
            Tok::Ident(w) if w == "use" => {
                let before = ident(toks.get(i.wrapping_sub(1)));
                // `pub use` or `pub(crate) use`
                in_pub_use =
                    before == Some("pub") || (i >= 4 && ident(toks.get(i - 4)) == Some("pub"));
            }
            _ => {}
        }
        let starts_path = toks[i].0 != Tok::Path
            && toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Path)
            && (i == 0 || toks[i - 1].0 != Tok::Path);
        let head = ident(toks.get(i)).map(str::to_string);
        let Some(head) = head.filter(|_| starts_path) else {
            i += 1;
            continue;
        };
        let base: Option<(Vec<String>, usize)> = match head.as_str() {
            "crate" => Some((vec![], i + 2)),
            "self" => Some((file.module.clone(), i + 2)),
            "super" => {
                // The parent of a leaf file's module is its folder; `super` in a
                // module file goes one folder up.
                let mut m = file.module.clone();
                let mut j = i;
                while ident(toks.get(j)) == Some("super")
                    && toks.get(j + 1).map(|t| &t.0) == Some(&Tok::Path)
                {
                    m.pop();
                    j += 2;
                }
                Some((m, j))
            }
            h if file.is_module_file && children.contains(h) => Some((file.module.clone(), i)),
            _ => None,
        };
        let Some((prefix, start)) = base else {
            i += 1;
            continue;
        };
        let relative_to_child = head != "crate" && head != "super";
        let mut paths = Vec::new();
        let next = use_tree(toks, start, &prefix, &mut paths);
        let reexport = in_pub_use && file.is_module_file;
        for (path, name) in paths {
            out.push(Ref {
                path,
                line: toks[i].1,
                reexport: reexport.then_some(name),
                facade: reexport && relative_to_child,
            });
        }
        i = next.max(i + 1);
    }
    out
}

#[derive(Default)]
struct Graph {
    /// folder (module path) → from → to → first place seen (`file:line`).
    edges: BTreeMap<Vec<String>, BTreeMap<String, BTreeMap<String, String>>>,
}

const MODULE_FILE: &str = "(mod)";

fn build(files: &[File]) -> Graph {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let children_of = |m: &[String]| -> BTreeSet<String> {
        modules
            .iter()
            .filter(|c| c.len() == m.len() + 1 && c.starts_with(m))
            .map(|c| c.last().unwrap().clone())
            .collect()
    };
    let all: Vec<(&File, Vec<Ref>)> = files
        .iter()
        .map(|f| (f, refs(f, &children_of(&f.module))))
        .collect();
    // Items a module file re-exports: module → name → where it really lives.
    let mut reexports: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    // Modules a module file re-exports everything of (`pub use model::*`).
    let mut globs: BTreeMap<Vec<String>, Vec<Vec<String>>> = BTreeMap::new();
    for (f, rs) in &all {
        if f.is_module_file {
            for r in rs {
                match &r.reexport {
                    Some(name) if name == "*" => {
                        let from = r.path[..r.path.len() - 1].to_vec();
                        globs.entry(f.module.clone()).or_default().push(from);
                    }
                    Some(name) => {
                        reexports
                            .entry(f.module.clone())
                            .or_default()
                            .insert(name.clone(), r.path.clone());
                    }
                    None => {}
                }
            }
        }
    }
    let mut graph = Graph::default();
    for (f, rs) in &all {
        for r in rs.iter().filter(|r| !r.facade) {
            let mut target = r.path.clone();
            for _ in 0..8 {
                let common = f
                    .module
                    .iter()
                    .zip(&target)
                    .take_while(|(a, b)| a == b)
                    .count();
                let folder = &target[..common];
                let Some(to) = target.get(common) else { break };
                if !modules.contains(&target[..=common]) {
                    // An item of the folder's module file, maybe re-exported
                    // from elsewhere by name or by a glob (`pub use model::*`).
                    let by_glob = || {
                        let module_file = files
                            .iter()
                            .find(|f| f.module == folder && f.is_module_file)?;
                        if module_file.items.contains(to) {
                            return None;
                        }
                        globs.get(folder)?.iter().find_map(|from| {
                            let defines = files
                                .iter()
                                .any(|f| &f.module == from && f.items.contains(to));
                            let mut item = from.clone();
                            item.push(to.clone());
                            defines.then_some(item)
                        })
                    };
                    let real = reexports
                        .get(folder)
                        .and_then(|m| m.get(to))
                        .cloned()
                        .or_else(by_glob);
                    if let Some(real) = real
                        && real != target[..=common]
                    {
                        let mut t = real;
                        t.extend_from_slice(&target[common + 1..]);
                        target = t;
                        continue;
                    }
                }
                let to = if modules.contains(&target[..=common]) {
                    to.clone()
                } else {
                    MODULE_FILE.to_string()
                };
                let from = f
                    .module
                    .get(common)
                    .cloned()
                    .unwrap_or_else(|| MODULE_FILE.to_string());
                if from != to {
                    graph
                        .edges
                        .entry(folder.to_vec())
                        .or_default()
                        .entry(from)
                        .or_default()
                        .entry(to)
                        .or_insert_with(|| format!("src/{}:{}", f.rel, r.line));
                }
                break;
            }
        }
    }
    graph
}

/// A cycle in one folder's graph, as `a → b → a` with where each edge is.
fn find_cycle(edges: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<(String, String)>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeMap<String, String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if !done.insert(node.to_string()) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flat_map(BTreeMap::keys) {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        let mut stack = Vec::new();
        if let Some(cycle) = visit(start, edges, &mut stack, &mut done) {
            return Some(
                cycle
                    .windows(2)
                    .map(|w| (format!("{} → {}", w[0], w[1]), edges[&w[0]][&w[1]].clone()))
                    .collect(),
            );
        }
    }
    None
}

fn cycles(graph: &Graph) -> Vec<String> {
    graph
        .edges
        .iter()
        .filter_map(|(folder, edges)| {
            let cycle = find_cycle(edges)?;
            let steps: Vec<String> = cycle
                .iter()
                .map(|(e, at)| format!("  {e} ({at})"))
                .collect();
            Some(format!(
                "src/{}: import cycle\n{}",
                folder.join("/"),
                steps.join("\n")
            ))
        })
        .collect()
}

#[test]
fn no_import_cycles_in_src() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = build(&load(&src));
    // The graph is real: it sees the edges the layering is made of.
    let top = &graph.edges[&Vec::<String>::new()];
    assert!(
        top["inventory"].contains_key("domain"),
        "{:?}",
        top["inventory"]
    );
    assert!(top["runner"].contains_key("fleet"), "{:?}", top["runner"]);
    assert!(
        !top.contains_key("domain"),
        "domain imports nothing from the crate: {:?}",
        top.get("domain")
    );
    let found = cycles(&graph);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn a_cycle_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("sim")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod sim;\npub mod report;\n").unwrap();
    std::fs::write(src.join("report.rs"), "use crate::sim::Fleet;\n").unwrap();
    std::fs::write(
        src.join("sim/mod.rs"),
        "//! crate::report in a comment is no edge\npub mod fleet;\npub mod server;\npub use fleet::Fleet;\npub struct SimError;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("sim/fleet.rs"),
        "use super::{SimError, server::serve};\npub struct Fleet;\n#[cfg(test)]\nmod tests { use crate::report; }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("sim/server.rs"),
        "pub fn serve(_: &crate::sim::Fleet) { let _ = \"crate::report\"; }\n",
    )
    .unwrap();
    let found = cycles(&build(&load(src)));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("src/sim: import cycle"),
        "{}",
        found[0]
    );
    assert!(
        found[0].contains("fleet → server (src/sim/fleet.rs:1)"),
        "{}",
        found[0]
    );
    assert!(
        found[0].contains("server → fleet (src/sim/server.rs:1)"),
        "{}",
        found[0]
    );
}
