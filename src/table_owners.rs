//! A test that keeps each table's SQL in the one module that owns it (the
//! table in `lib.rs`'s module map and in `docs/design.md`): it reads every
//! file under `src/`, takes the string literals outside test code, and
//! fails on a statement naming a table (`FROM t`, `JOIN t`, `INTO t`,
//! `UPDATE t`, `ON t`, `TABLE t`, `REFERENCES t`) in a module other than
//! the table's owner, and on a table named at run time (`FROM {table}`),
//! which it cannot check. `store` creates every table (its migrations), so
//! it may name them all.
//!
//! Test code is left out: an item under `#[cfg(test)]` (a `mod tests { ...
//! }`, a `mod tests;` file) may read any table to check a result.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::import_graph::{files, lex};

/// Each table and the module that owns its SQL.
const OWNERS: &[(&str, &str)] = &[
    ("meta", "store"),
    ("controls", "controls"),
    ("sessions", "sessions"),
    ("tool_calls", "sessions"),
    ("tool_call_buckets", "sessions"),
    ("hook_events", "sessions"),
    ("hook_inputs", "sessions"),
    ("api_state", "usage::poll"),
    ("usage_snapshots", "usage::snapshot"),
    ("pacing_decisions", "pacing::decisions"),
    ("epics", "momentum"),
    ("epic_checks", "momentum::check_store"),
    ("check_results", "momentum::check_store"),
    ("transcript_files", "local_usage::ledger"),
    ("transcript_chunks", "local_usage::ledger"),
    ("usage_calibration", "local_usage::estimate"),
];

/// The module whose migrations create every table.
const SCHEMA: &str = "store";

/// The words after which SQL names a table.
const KEYWORDS: &[&str] = &[
    "FROM",
    "JOIN",
    "INTO",
    "UPDATE",
    "ON",
    "TABLE",
    "REFERENCES",
];

/// The spans of the items under `#[cfg(test)]`, and the names of the
/// `mod name;` files among them.
fn test_items(code: &str) -> (Vec<(usize, usize)>, Vec<String>) {
    const ATTRIBUTE: &str = "#[cfg(test)]";
    let bytes = code.as_bytes();
    let mut spans = Vec::new();
    let mut modules = Vec::new();
    let mut search = 0;
    while let Some(found) = code[search..].find(ATTRIBUTE) {
        let start = search + found;
        let mut at = start + ATTRIBUTE.len();
        // The item ends at its first `;` outside braces, or at the brace
        // closing its first `{`.
        let mut depth = 0;
        while at < bytes.len() {
            match bytes[at] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                b';' if depth == 0 => break,
                _ => {}
            }
            at += 1;
        }
        let item = code[start + ATTRIBUTE.len()..at].trim();
        if let Some(name) = item.strip_prefix("mod ") {
            if bytes.get(at) == Some(&b';') {
                modules.push(name.trim().to_string());
            }
        }
        spans.push((start, at + 1));
        search = at + 1;
    }
    (spans, modules)
}

/// The tables a piece of SQL names after a keyword; `{...}` for a name
/// filled in at run time.
fn tables_named(sql: &str) -> Vec<String> {
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ',')
        .filter(|word| !word.is_empty())
        .collect();
    let mut out = Vec::new();
    for pair in words.windows(2) {
        if KEYWORDS.iter().any(|keyword| keyword == &pair[0]) {
            let name = pair[1].trim_matches(|c| c == '"' || c == '`' || c == '\'');
            if name.starts_with('{') {
                out.push("{...}".to_string());
            } else {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
    }
    out
}

/// Every statement naming a table outside its owner, described; empty
/// when there is none.
fn report(src: &Path, owners: &[(&str, &str)]) -> Vec<String> {
    let owners: BTreeMap<&str, &str> = owners.iter().copied().collect();
    let files = files(src);
    let mut lexed = BTreeMap::new();
    let mut test_only: BTreeSet<Vec<String>> = BTreeSet::new();
    for (module, path) in &files {
        let file = lex(&std::fs::read_to_string(path).unwrap());
        let (spans, modules) = test_items(&file.code);
        for name in modules {
            let mut child = module.clone();
            child.push(name);
            test_only.insert(child);
        }
        lexed.insert(module.clone(), (path, file, spans));
    }
    let mut problems = Vec::new();
    for (module, (path, file, spans)) in &lexed {
        if test_only
            .iter()
            .any(|test| module.starts_with(test.as_slice()))
        {
            continue;
        }
        let here = module.join("::");
        if here == SCHEMA {
            continue;
        }
        for (offset, sql) in &file.strings {
            if spans
                .iter()
                .any(|(start, end)| start <= offset && offset < end)
            {
                continue;
            }
            let line = file.code[..*offset].matches('\n').count() + 1;
            let place = format!(
                "{}:{line}",
                path.strip_prefix(src).unwrap_or(path).display()
            );
            for table in tables_named(sql) {
                if table == "{...}" {
                    problems.push(format!(
                        "{place}: a table named at run time, which no test can check: {sql:?}"
                    ));
                } else if let Some(owner) = owners.get(table.as_str()) {
                    if *owner != here {
                        problems.push(format!(
                            "{place}: `{table}` belongs to {owner}, but {here} has its SQL"
                        ));
                    }
                }
            }
        }
    }
    problems
}

#[test]
fn every_tables_sql_lives_in_its_owning_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = report(&src, OWNERS);
    assert!(
        problems.is_empty(),
        "SQL outside its table's owner (see `Tables and their owners` in lib.rs):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_table_of_the_schema_has_an_owner() {
    let store = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store.rs"))
        .unwrap();
    let created: BTreeSet<String> = lex(&store)
        .strings
        .iter()
        .flat_map(|(_, sql)| {
            let words: Vec<&str> = sql.split_whitespace().collect();
            words
                .windows(3)
                .filter(|words| words[0] == "CREATE" && words[1] == "TABLE")
                .map(|words| words[2].trim_end_matches('(').to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let owned: BTreeSet<String> = OWNERS.iter().map(|(table, _)| table.to_string()).collect();
    assert!(created.contains("tool_call_buckets"), "{created:?}");
    assert_eq!(created, owned, "the schema's tables and the owners' map");
}

#[test]
fn the_check_finds_sql_outside_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("sessions")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod sessions;\npub mod pacing;\n").unwrap();
    std::fs::write(
        src.join("sessions/mod.rs"),
        "fn f() { q(\"SELECT at FROM tool_calls\"); }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("pacing.rs"),
        concat!(
            "// SELECT at FROM tool_calls, in a comment\n",
            "fn f() {\n",
            "    q(\"SELECT at\n         FROM tool_calls WHERE x\");\n",
            "    q(r#\"DELETE FROM {table} WHERE at < ?1\"#);\n",
            "    q(\"UPDATE \\\n        sessions SET x = 1\");\n",
            "    q(\"FROM nothing we own\");\n",
            "}\n",
            "#[cfg(test)]\n",
            "mod tests {\n    fn g() { q(\"SELECT 1 FROM sessions\"); }\n}\n",
        ),
    )
    .unwrap();
    let problems = report(src, &[("tool_calls", "sessions"), ("sessions", "sessions")]);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].starts_with("pacing.rs:3: `tool_calls` belongs to sessions"));
    assert!(problems[1].starts_with("pacing.rs:5: a table named at run time"));
    assert!(problems[2].starts_with("pacing.rs:6: `sessions` belongs to sessions"));
}
