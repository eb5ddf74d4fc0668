//! A test that keeps the crate's dependencies running one way: it reads
//! every file under `src/`, lists which files each one names (`crate::`,
//! `super::`, `self::` paths and paths through a child module, in `use`
//! lines or in code), and fails on a circle, between files or between the
//! top-level modules (`hook`, `pacing`, ...). The module map in `lib.rs`
//! says which way each module depends.
//!
//! It reads the source as text: comments, strings and character literals
//! are blanked first, and `mod name { ... }` blocks (tests) count as part
//! of their file. Run `cargo test --lib import_graph -- --nocapture` to
//! print the edges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path: `["pacing", "apply"]`; the crate root is empty.
type ModPath = Vec<String>;

/// Every `.rs` file under `dir`, by the module path it defines.
pub(crate) fn files(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    let mut out = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                let relative = path.strip_prefix(src).unwrap().with_extension("");
                let mut module: ModPath = relative
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                    module.pop();
                }
                if module.last().is_some_and(|last| last == "main") && module.len() == 1 {
                    continue; // the binary, a crate of its own
                }
                out.insert(module, path);
            }
        }
    }
    out
}

/// A file read as Rust: its string literals (where each starts, its text)
/// and its code with comments and literals blanked to spaces, at the same
/// offsets.
pub(crate) struct Lexed {
    pub(crate) code: String,
    pub(crate) strings: Vec<(usize, String)>,
}

pub(crate) fn lex(text: &str) -> Lexed {
    let bytes = text.as_bytes();
    let mut code = String::with_capacity(text.len());
    let mut strings = Vec::new();
    let mut at = 0;
    let blank = |code: &mut String, from: usize, to: usize| {
        // A space per byte, and the lines kept: offsets and line numbers stay.
        for character in text[from..to].chars() {
            if character == '\n' {
                code.push('\n');
            } else {
                code.extend(std::iter::repeat_n(' ', character.len_utf8()));
            }
        }
    };
    while at < bytes.len() {
        let rest = &text[at..];
        let after_ident =
            at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        if rest.starts_with("//") {
            let end = at + rest.find('\n').unwrap_or(rest.len());
            blank(&mut code, at, end);
            at = end;
        } else if rest.starts_with("/*") {
            let start = at;
            let mut depth = 0;
            while at < bytes.len() {
                if text[at..].starts_with("/*") {
                    depth += 1;
                    at += 2;
                } else if text[at..].starts_with("*/") {
                    depth -= 1;
                    at += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    at += 1;
                }
            }
            blank(&mut code, start, at);
        } else if let Some(hashes) = raw_string_start(rest).filter(|_| !after_ident) {
            let open = at + rest.find('"').unwrap() + 1;
            let close = format!("\"{}", "#".repeat(hashes));
            let end = open + text[open..].find(&close).unwrap();
            strings.push((at, text[open..end].to_string()));
            blank(&mut code, at, end + close.len());
            at = end + close.len();
        } else if bytes[at] == b'"' {
            let start = at;
            at += 1;
            let mut content = String::new();
            while bytes[at] != b'"' {
                if bytes[at] == b'\\' {
                    // A line continuation is white space to SQL; other
                    // escapes are kept as written.
                    if bytes[at + 1] == b'\n' {
                        content.push(' ');
                        at += 2;
                    } else {
                        content.push_str(&text[at..at + 2]);
                        at += 2;
                    }
                } else {
                    let character = text[at..].chars().next().unwrap();
                    content.push(character);
                    at += character.len_utf8();
                }
            }
            at += 1;
            strings.push((start, content));
            blank(&mut code, start, at);
        } else if let Some(length) = char_literal(rest) {
            blank(&mut code, at, at + length);
            at += length;
        } else {
            let character = rest.chars().next().unwrap();
            code.push(character);
            at += character.len_utf8();
        }
    }
    Lexed { code, strings }
}

/// `r"`, `r#"`, `br"` ...: the number of `#`s.
fn raw_string_start(rest: &str) -> Option<usize> {
    let rest = rest.strip_prefix('b').unwrap_or(rest).strip_prefix('r')?;
    let hashes = rest.len() - rest.trim_start_matches('#').len();
    rest[hashes..].starts_with('"').then_some(hashes)
}

/// `'x'`, `'\n'`, `'\u{1F600}'`: the literal's length; `None` for a lifetime.
fn char_literal(rest: &str) -> Option<usize> {
    let inner = rest.strip_prefix('\'')?;
    if let Some(escaped) = inner.strip_prefix('\\') {
        return Some(3 + escaped.find('\'')?);
    }
    let character = inner.chars().next()?;
    inner[character.len_utf8()..]
        .starts_with('\'')
        .then(|| 2 + character.len_utf8())
}

fn is_ident_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Parses a use tree (or a plain path) at `at`, after `prefix::`, and adds
/// each full path it names to `out`.
fn parse_tree(code: &str, mut at: usize, prefix: &ModPath, out: &mut Vec<ModPath>) -> usize {
    let bytes = code.as_bytes();
    let skip_space = |mut at: usize| {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        at
    };
    let mut path = prefix.clone();
    loop {
        at = skip_space(at);
        if at < bytes.len() && bytes[at] == b'{' {
            at += 1;
            loop {
                at = skip_space(at);
                if at < bytes.len() && bytes[at] == b'}' {
                    return at + 1;
                }
                at = parse_tree(code, at, &path, out);
                at = skip_space(at);
                match bytes.get(at) {
                    Some(b',') => at += 1,
                    Some(b'}') => return at + 1,
                    _ => return at,
                }
            }
        }
        let start = at;
        while at < bytes.len() && is_ident_byte(bytes[at]) {
            at += 1;
        }
        if start == at {
            out.push(path);
            return at;
        }
        let segment = &code[start..at];
        if segment != "self" {
            path.push(segment.to_string());
        }
        let after = skip_space(at);
        if code[after..].starts_with("::") {
            at = after + 2;
        } else {
            out.push(path);
            return at;
        }
    }
}

/// The file a path lands in: its longest prefix that is a file's module.
fn resolve<'a>(path: &[String], files: &'a BTreeMap<ModPath, PathBuf>) -> &'a ModPath {
    (0..=path.len())
        .rev()
        .find_map(|length| files.get_key_value(&path[..length]).map(|(key, _)| key))
        .expect("the crate root is a file")
}

/// Which files each file names.
fn edges(files: &BTreeMap<ModPath, PathBuf>) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (module, path) in files {
        let code = lex(&std::fs::read_to_string(path).unwrap()).code;
        let bytes = code.as_bytes();
        // Inline modules: (start, end, name).
        let mut inline = Vec::new();
        let mut search = 0;
        while let Some(found) = code[search..].find("mod ") {
            let start = search + found;
            search = start + 4;
            if start > 0 && is_ident_byte(bytes[start - 1]) {
                continue;
            }
            let name_end = search
                + code[search..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(0);
            let name = &code[search..name_end];
            let rest = code[name_end..].trim_start();
            if name.is_empty() || !rest.starts_with('{') {
                continue;
            }
            let open = code.len() - rest.len();
            let mut depth = 0;
            let mut end = open;
            for (offset, byte) in bytes[open..].iter().enumerate() {
                match byte {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + offset;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            inline.push((open, end, name.to_string()));
        }
        // Child modules of this file, named without `crate::`.
        let children: BTreeSet<&str> = files
            .keys()
            .filter(|other| other.len() == module.len() + 1 && other.starts_with(module))
            .map(|other| other.last().unwrap().as_str())
            .collect();
        let mut at = 0;
        while at < bytes.len() {
            if !is_ident_byte(bytes[at])
                || (at > 0 && (is_ident_byte(bytes[at - 1]) || bytes[at - 1] == b':'))
            {
                at += 1;
                continue;
            }
            let end = at
                + code[at..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(code.len() - at);
            let word = &code[at..end];
            if !code[end..].starts_with("::") {
                at = end;
                continue;
            }
            let mut here: ModPath = module.clone();
            here.extend(
                inline
                    .iter()
                    .filter(|(start, stop, _)| *start < at && at < *stop)
                    .map(|(_, _, name)| name.clone()),
            );
            let mut base = match word {
                "crate" => Vec::new(),
                "super" => here[..here.len() - 1].to_vec(),
                "self" => here.clone(),
                child if children.contains(child) && here.len() == module.len() => {
                    let mut base = module.clone();
                    base.push(child.to_string());
                    base
                }
                _ => {
                    at = end;
                    continue;
                }
            };
            let mut next = end + 2;
            while code[next..].trim_start().starts_with("super::") {
                base.pop();
                next = code.len() - code[next..].trim_start().len() + "super::".len();
            }
            let mut paths = Vec::new();
            at = parse_tree(&code, next, &base, &mut paths).max(end);
            for path in paths {
                let target = resolve(&path, files);
                if target != module {
                    edges
                        .entry(module.clone())
                        .or_default()
                        .insert(target.clone());
                }
            }
        }
    }
    edges
}

/// The circles of a graph: its strongly connected parts of two or more.
fn circles<N: Ord + Clone>(nodes: &BTreeSet<N>, edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    // Kosaraju: finish order on the graph, then parts on the reversed one.
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for start in nodes {
        if seen.contains(start) {
            continue;
        }
        seen.insert(start.clone());
        let mut stack = vec![(
            start.clone(),
            edges
                .get(start)
                .map(|next| next.iter().cloned().collect::<Vec<_>>())
                .unwrap_or_default(),
        )];
        while let Some((node, pending)) = stack.last_mut() {
            if let Some(next) = pending.pop() {
                if seen.insert(next.clone()) {
                    let after = edges
                        .get(&next)
                        .map(|next| next.iter().cloned().collect())
                        .unwrap_or_default();
                    stack.push((next, after));
                }
            } else {
                order.push(node.clone());
                stack.pop();
            }
        }
    }
    let mut reversed: BTreeMap<N, Vec<N>> = BTreeMap::new();
    for (from, targets) in edges {
        for to in targets {
            reversed.entry(to.clone()).or_default().push(from.clone());
        }
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for start in order.into_iter().rev() {
        if !assigned.insert(start.clone()) {
            continue;
        }
        let mut part = vec![start.clone()];
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            for next in reversed.get(&node).into_iter().flatten() {
                if assigned.insert(next.clone()) {
                    part.push(next.clone());
                    stack.push(next.clone());
                }
            }
        }
        if part.len() > 1 {
            part.sort();
            out.push(part);
        }
    }
    out
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "lib".to_string()
    } else {
        module.join("/")
    }
}

/// The circles found, described; empty when there are none.
fn report(files: &BTreeMap<ModPath, PathBuf>) -> Vec<String> {
    let edges = edges(files);
    let nodes: BTreeSet<ModPath> = files.keys().cloned().collect();
    let mut problems = Vec::new();
    for circle in circles(&nodes, &edges) {
        let inside: Vec<String> = circle
            .iter()
            .flat_map(|from| {
                edges[from]
                    .iter()
                    .filter(|to| circle.contains(to))
                    .map(move |to| format!("{} -> {}", name(from), name(to)))
            })
            .collect();
        problems.push(format!("files in a circle: {}", inside.join(", ")));
    }
    // Top-level modules: `pacing/apply -> hook` is `pacing -> hook`. The
    // crate root (lib.rs) declares them all and sits above, so it is left out.
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut why: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (from, targets) in &edges {
        for to in targets {
            let (Some(a), Some(b)) = (from.first(), to.first()) else {
                continue;
            };
            if a != b {
                top.entry(a.clone()).or_default().insert(b.clone());
                why.entry((a.clone(), b.clone())).or_default().push(format!(
                    "{} -> {}",
                    name(from),
                    name(to)
                ));
            }
        }
    }
    let tops: BTreeSet<String> = nodes
        .iter()
        .filter_map(|module| module.first().cloned())
        .collect();
    for circle in circles(&tops, &top) {
        let inside: Vec<String> = circle
            .iter()
            .flat_map(|from| {
                let why = &why;
                top[from]
                    .iter()
                    .filter(|to| circle.contains(to))
                    .map(move |to| {
                        format!(
                            "{from} -> {to} ({})",
                            why[&(from.clone(), to.clone())].join(", ")
                        )
                    })
            })
            .collect();
        problems.push(format!("modules in a circle: {}", inside.join("; ")));
    }
    problems
}

#[test]
fn no_file_or_top_level_module_imports_itself_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = files(&src);
    for (from, targets) in edges(&files) {
        let targets: Vec<String> = targets.iter().map(|to| name(to)).collect();
        println!("{} -> {}", name(&from), targets.join(" "));
    }
    let problems = report(&files);
    assert!(
        problems.is_empty(),
        "import circles:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_finds_a_circle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("hook")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod hook;\npub mod pacing;\n").unwrap();
    std::fs::write(src.join("hook/mod.rs"), "// crate::pacing in a comment\npub mod event;\nfn f() { crate::pacing::go(\"crate::lib\") }\n").unwrap();
    std::fs::write(src.join("hook/event.rs"), "pub struct Event;\n").unwrap();
    std::fs::write(
        src.join("pacing.rs"),
        "use crate::hook::{event::Event, self};\n",
    )
    .unwrap();
    let files = files(src);
    let edges = edges(&files);
    let hook = vec!["hook".to_string()];
    let pacing = vec!["pacing".to_string()];
    let event = vec!["hook".to_string(), "event".to_string()];
    assert_eq!(edges[&hook], BTreeSet::from([pacing.clone()]));
    assert_eq!(edges[&pacing], BTreeSet::from([event, hook]));
    let problems = report(&files);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("hook -> pacing") && problems[0].contains("pacing -> hook"));
    assert!(problems[1].starts_with("modules in a circle: hook -> pacing"));
}
