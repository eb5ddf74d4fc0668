//! Loads the stored entries back, de-duplicated: one entry per reply.
//!
//! A reply with several content blocks is written as several lines with
//! the same (message.id, requestId); resumed sessions copy old lines into
//! a new file; subagent files may repeat a main-chain reply as a sidechain
//! copy. Exactly one copy counts: the main-chain one over a sidechain one,
//! then the one with the largest token total (earlier copies can hold
//! placeholder output counts), the first one seen on a tie. Entries without
//! a message id cannot be matched and all count. The project filter applies
//! before de-duplication, as ccusage does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::entry::{self, DedupKey};
use super::ledger::{self, StoredEntry};

/// Which entries to load.
#[derive(Debug, Clone, Default)]
pub struct LoadFilter {
    /// Only files under these Claude folders (all stored files when `None`).
    pub roots: Option<Vec<PathBuf>>,
    /// Only this project (the folder name under `projects/`).
    pub project: Option<String>,
    /// Only chunks that reach this time (entries before it may still come
    /// along; callers filter entries by time themselves).
    pub since_ms: Option<i64>,
}

/// A stored file, as reports need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub path: String,
    pub project: String,
    pub session_id: String,
}

/// De-duplicated entries with the names they refer to.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// In the order first seen (path, then offset); sort by time as needed.
    pub entries: Vec<StoredEntry>,
    pub models: Vec<String>,
    pub files: Vec<FileInfo>,
    /// Lines read, before de-duplication.
    pub copies: u64,
}

impl Loaded {
    pub fn model_name(&self, entry: &StoredEntry) -> Option<&str> {
        entry
            .model
            .map(|index| self.models[index as usize].as_str())
    }

    pub fn file(&self, entry: &StoredEntry) -> &FileInfo {
        &self.files[entry.file as usize]
    }
}

fn under_roots(path: &str, roots: &[PathBuf]) -> bool {
    roots
        .iter()
        .any(|root| Path::new(path).starts_with(root.join("projects")))
}

/// Loads and de-duplicates the stored entries.
pub fn load(connection: &rusqlite::Connection, filter: &LoadFilter) -> anyhow::Result<Loaded> {
    let mut loaded = Loaded::default();
    // Stored file id -> index in `loaded.files`, or None when filtered out.
    let mut file_index: HashMap<i64, Option<u32>> = HashMap::new();
    for record in ledger::load_files(connection)? {
        let included = filter
            .roots
            .as_ref()
            .is_none_or(|roots| under_roots(&record.path, roots))
            && filter
                .project
                .as_ref()
                .is_none_or(|project| *project == record.project);
        let index = included.then(|| {
            loaded.files.push(FileInfo {
                path: record.path,
                project: record.project,
                session_id: record.session_id,
            });
            (loaded.files.len() - 1) as u32
        });
        file_index.insert(record.id, index);
    }
    let mut model_index: HashMap<String, u16> = HashMap::new();
    let mut by_key: HashMap<DedupKey, u32> = HashMap::new();
    let models = &mut loaded.models;
    let entries = &mut loaded.entries;
    let copies = &mut loaded.copies;
    ledger::for_each_chunk(connection, filter.since_ms, |file_id, data| {
        let Some(Some(file)) = file_index.get(&file_id).copied() else {
            return Ok(());
        };
        let intern = |name: &str| -> u16 {
            if let Some(index) = model_index.get(name) {
                return *index;
            }
            let index = models.len().min(u16::MAX as usize - 1) as u16;
            models.push(name.to_string());
            model_index.insert(name.to_string(), index);
            index
        };
        ledger::decode_chunk(data, file, intern, |candidate| {
            *copies += 1;
            let Some(key) = candidate.key else {
                entries.push(candidate);
                return;
            };
            match by_key.get(&key) {
                Some(&index) => {
                    let existing = &mut entries[index as usize];
                    if entry::replaces(
                        candidate.is_sidechain,
                        candidate.tokens.total(),
                        candidate.has_speed,
                        existing.is_sidechain,
                        existing.tokens.total(),
                        existing.has_speed,
                    ) {
                        *existing = candidate;
                    }
                }
                None => {
                    by_key.insert(key, entries.len() as u32);
                    entries.push(candidate);
                }
            }
        })
    })?;
    Ok(loaded)
}
