//! The architecture's rules, checked on the source itself (ARCHITECTURE.md, "Invariants"):
//! no module imports one that imports it back; only `storage` speaks to databases and Redis,
//! only `events` to NATS; only `gateway` knows HTTP and WebSockets; the state machine does no I/O and reads no clock;
//! `protocol` knows nothing of runtimes or storage.
//!
//! The dependency graph is read from every `use` and every `crate::…`/`super::…` path in
//! `src/`, module by module (a file is a module), leaving out test code (`tests.rs`,
//! `proptests.rs`, `#[cfg(test)] mod … { … }`). A module's edges go to the modules its paths name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module: its path from the crate root (`["actors", "cluster", "rpc"]`).
type Module = Vec<String>;

struct Source {
    module: Module,
    file: PathBuf,
    /// The text with test code removed.
    text: String,
}

fn crate_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn sources(dir: &Path, module: &Module, out: &mut Vec<Source>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let mut inner = module.clone();
            inner.push(name);
            sources(&path, &inner, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            if ["tests", "proptests", "main"].contains(&name.as_str()) {
                continue;
            }
            let mut this = module.clone();
            if !["mod", "lib"].contains(&name.as_str()) {
                this.push(name);
            }
            let text = without_test_code(&std::fs::read_to_string(&path).unwrap());
            out.push(Source { module: this, file: path, text });
        }
    }
}

/// The text without `#[cfg(test)]` items (a `mod … { … }` block or one item) and comments.
fn without_test_code(text: &str) -> String {
    let text: String = text
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        // Skip to the end of the item: the matching brace of its first block, or its `;`.
        let brace = after.find('{');
        let semicolon = after.find(';');
        let end = match (brace, semicolon) {
            (Some(b), Some(s)) if s < b => s + 1,
            (Some(b), _) => {
                let mut depth = 0;
                let mut end = after.len();
                for (i, c) in after[b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, Some(s)) => s + 1,
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Every path in `use` trees and every `crate::…`/`super::…` path, as written (`super` kept).
fn paths(text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("use ") {
        let start = i + at;
        i = start + 4;
        let boundary = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if !boundary {
            continue;
        }
        let Some(end) = text[start..].find(';') else { break };
        let tree: String = text[start + 4..start + end].chars().filter(|c| !c.is_whitespace()).collect();
        expand(&tree, Vec::new(), &mut found);
    }
    for prefix in ["crate::", "super::"] {
        let mut i = 0;
        while let Some(at) = text[i..].find(prefix) {
            let start = i + at;
            i = start + prefix.len();
            if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
                continue;
            }
            let path: String =
                text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
            found.push(path.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect());
        }
    }
    found
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim_start_matches("pub(crate)").trim_start_matches("pub(super)").trim_start_matches("pub");
    match tree.find('{') {
        Some(open) if tree.ends_with('}') => {
            let mut base = prefix.clone();
            base.extend(tree[..open].split("::").filter(|s| !s.is_empty()).map(str::to_string));
            let inner = &tree[open + 1..tree.len() - 1];
            let mut depth = 0;
            let mut part = String::new();
            for c in inner.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&part, base.clone(), out);
                        part.clear();
                        continue;
                    }
                    _ => {}
                }
                part.push(c);
            }
            if !part.is_empty() {
                expand(&part, base, out);
            }
        }
        _ => {
            let mut path = prefix;
            let tree = tree.split(" as ").next().unwrap_or(tree);
            path.extend(tree.split("::").filter(|s| !s.is_empty()).map(str::to_string));
            out.push(path);
        }
    }
}

/// The module a path names, resolved from `from`; `None` for paths outside this crate.
fn target(from: &Module, is_mod_file: bool, path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let mut base: Module = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super") => {
            // `super` of `a::b` (file a/b.rs) is `a`; of a `mod.rs` module `a::b` it is `a` too.
            let mut base = from.clone();
            let _ = is_mod_file;
            base.pop();
            base
        }
        Some("self") => from.clone(),
        _ => return None,
    };
    let mut rest = &path[1..];
    while rest.first().map(String::as_str) == Some("super") {
        base.pop();
        rest = &rest[1..];
    }
    let mut best = base.clone();
    let mut current = base;
    for segment in rest {
        current.push(segment.clone());
        if modules.contains(&current) {
            best = current.clone();
        } else {
            break;
        }
    }
    modules.contains(&best).then_some(best)
}

struct Graph {
    sources: Vec<Source>,
    edges: BTreeMap<Module, BTreeSet<Module>>,
}

fn graph() -> Graph {
    let mut sources_found = Vec::new();
    sources(&crate_root().join("src"), &Vec::new(), &mut sources_found);
    let modules: BTreeSet<Module> = sources_found.iter().map(|s| s.module.clone()).collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for source in &sources_found {
        let is_mod_file = source.file.ends_with("mod.rs");
        for path in paths(&source.text) {
            if let Some(to) = target(&source.module, is_mod_file, &path, &modules)
                && to != source.module
                && !source.module.starts_with(&to)
            {
                edges.entry(source.module.clone()).or_default().insert(to);
            }
        }
    }
    Graph { sources: sources_found, edges }
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<Module, usize>,
        low: BTreeMap<Module, usize>,
        stack: Vec<Module>,
        on_stack: BTreeSet<Module>,
        next: usize,
        found: Vec<Vec<Module>>,
    }
    fn visit(state: &mut State, node: &Module) {
        state.index.insert(node.clone(), state.next);
        state.low.insert(node.clone(), state.next);
        state.next += 1;
        state.stack.push(node.clone());
        state.on_stack.insert(node.clone());
        for next in state.edges.get(node).into_iter().flatten() {
            if !state.index.contains_key(next) {
                visit(state, next);
                let low = state.low[node].min(state.low[next]);
                state.low.insert(node.clone(), low);
            } else if state.on_stack.contains(next) {
                let low = state.low[node].min(state.index[next]);
                state.low.insert(node.clone(), low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(&top);
                let done = &top == node;
                component.push(top);
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    let nodes: Vec<Module> = edges.keys().cloned().collect();
    for node in &nodes {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.found
}

fn name(module: &Module) -> String {
    if module.is_empty() { "crate".into() } else { module.join("::") }
}

/// The graph between the modules `depth` deep: each module counts as its ancestor at that depth,
/// and only edges between siblings (the same parent) are kept. Depth 1 is `storage` against
/// `catalog`; depth 2 is `actors::cluster` against `actors::directory`.
fn at_depth(edges: &BTreeMap<Module, BTreeSet<Module>>, depth: usize) -> BTreeMap<Module, BTreeSet<Module>> {
    let cut = |module: &Module| module[..module.len().min(depth)].to_vec();
    let mut collapsed: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, targets) in edges {
        for to in targets {
            let (from, to) = (cut(from), cut(to));
            let siblings = from.len() == depth && to.len() == depth && from[..depth - 1] == to[..depth - 1];
            if from != to && siblings {
                collapsed.entry(from).or_default().insert(to);
            }
        }
    }
    collapsed
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = graph();
    assert!(graph.edges.len() > 30, "the graph was read: {} modules with imports", graph.edges.len());
    let mut shown = Vec::new();
    for depth in 1..=3 {
        for component in cycles(&at_depth(&graph.edges, depth)) {
            shown.push(component.iter().map(name).collect::<Vec<_>>().join(" ⇄ "));
        }
    }
    for component in cycles(&graph.edges) {
        shown.push(component.iter().map(name).collect::<Vec<_>>().join(" ⇄ "));
    }
    assert!(shown.is_empty(), "import cycles:\n{}", shown.join("\n"));
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let module = |name: &str| name.split("::").map(str::to_string).collect::<Module>();
    let mut edges = BTreeMap::new();
    edges.insert(module("a"), BTreeSet::from([module("b")]));
    edges.insert(module("b"), BTreeSet::from([module("c")]));
    edges.insert(module("c"), BTreeSet::from([module("a"), module("d")]));
    assert_eq!(cycles(&edges).len(), 1);
    let mut nested = BTreeMap::new();
    nested.insert(module("x::one"), BTreeSet::from([module("y::two")]));
    nested.insert(module("y::three"), BTreeSet::from([module("x::four")]));
    assert!(cycles(&nested).is_empty(), "no cycle between files");
    assert_eq!(cycles(&at_depth(&nested, 1)).len(), 1, "but x and y import each other");
    let mut paths_found = Vec::new();
    expand("crate::{a::{B, c::D}, e as F}", Vec::new(), &mut paths_found);
    assert_eq!(paths_found.len(), 3);
    assert_eq!(without_test_code("x\n#[cfg(test)]\nmod tests { fn a() { } }\ny"), "x\n\ny");
}

/// The files whose code mentions one of `words`, outside the modules under `allowed`.
fn mentions(graph: &Graph, words: &[&str], allowed: &[&str]) -> Vec<String> {
    graph
        .sources
        .iter()
        .filter(|source| !allowed.iter().any(|a| source.module.first().map(String::as_str) == Some(*a)))
        .filter(|source| words.iter().any(|word| source.text.contains(word)))
        .map(|source| source.file.strip_prefix(crate_root()).unwrap().display().to_string())
        .collect()
}

#[test]
fn only_storage_speaks_to_databases_and_redis() {
    let graph = graph();
    assert_eq!(mentions(&graph, &["sqlx::", "fred::"], &["storage"]), Vec::<String>::new());
}

#[test]
fn only_events_speaks_to_nats() {
    let graph = graph();
    assert_eq!(mentions(&graph, &["async_nats"], &["events"]), Vec::<String>::new());
}

#[test]
fn only_the_gateway_knows_http_and_websockets() {
    let graph = graph();
    let found = mentions(&graph, &["actix_web", "actix_http", "tungstenite", "HttpResponse"], &["gateway"]);
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn the_state_machine_does_no_io_and_reads_no_clock() {
    let graph = graph();
    let player: Vec<&Source> =
        graph.sources.iter().filter(|s| s.module.first().map(String::as_str) == Some("player")).collect();
    assert!(player.len() >= 5);
    for source in player {
        for word in [
            "SystemTime",
            "Instant::now",
            "now_ms()",
            "tokio",
            "actix",
            "std::fs",
            "std::net",
            "rand::random",
            "thread_rng",
            "rand::rng()",
            "crate::storage",
            "crate::actors",
            "crate::gateway",
        ] {
            assert!(!source.text.contains(word), "{} mentions {word}", source.file.display());
        }
    }
}

#[test]
fn the_playlist_edit_model_does_no_io_and_reads_no_clock() {
    let graph = graph();
    let model: Vec<&Source> =
        graph.sources.iter().filter(|s| s.module.first().map(String::as_str) == Some("playlist")).collect();
    assert!(model.len() >= 2);
    for source in model {
        for word in [
            "SystemTime",
            "Instant::now",
            "now_ms()",
            "tokio",
            "actix",
            "std::fs",
            "std::net",
            "rand::",
            "Id::random",
            "crate::storage",
            "crate::actors",
            "crate::gateway",
        ] {
            assert!(!source.text.contains(word), "{} mentions {word}", source.file.display());
        }
    }
}

#[test]
fn the_protocol_knows_nothing_of_runtimes_or_storage() {
    let dir = crate_root().join("protocol/src");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = without_test_code(&std::fs::read_to_string(&path).unwrap());
        for word in ["tokio", "actix", "sqlx", "fred", "tungstenite"] {
            assert!(!text.contains(word), "{} mentions {word}", path.display());
        }
    }
}
