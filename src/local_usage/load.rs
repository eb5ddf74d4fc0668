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
    let mut deduplicator = Deduplicator::default();
    let models = &mut loaded.models;
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
            deduplicator.push(candidate);
        })
    })?;
    loaded.entries = deduplicator.into_entries();
    Ok(loaded)
}

/// Keeps one copy per reply, as entries stream in.
#[derive(Debug, Default)]
pub struct Deduplicator {
    by_key: HashMap<DedupKey, u32>,
    entries: Vec<StoredEntry>,
}

impl Deduplicator {
    pub fn push(&mut self, candidate: StoredEntry) {
        let Some(key) = candidate.key else {
            self.entries.push(candidate);
            return;
        };
        match self.by_key.get(&key) {
            Some(&index) => {
                let existing = &mut self.entries[index as usize];
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
                self.by_key.insert(key, self.entries.len() as u32);
                self.entries.push(candidate);
            }
        }
    }

    /// The kept entries, in the order their replies were first seen.
    pub fn into_entries(self) -> Vec<StoredEntry> {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_usage::entry::TokenCounts;
    use proptest::prelude::*;

    fn copy(key: u128, output: u64, sidechain: bool) -> StoredEntry {
        StoredEntry {
            key: Some(key),
            timestamp_ms: output as i64,
            tokens: TokenCounts {
                output,
                ..TokenCounts::default()
            },
            model: None,
            is_sidechain: sidechain,
            has_speed: false,
            limit_resets_at_s: None,
            file: 0,
        }
    }

    proptest! {
        /// Whatever order the copies of replies arrive in (resumed files,
        /// subagent logs, streaming copies), the same copy of each reply is
        /// kept: the main-chain one with the most tokens, else the biggest.
        #[test]
        fn the_kept_copy_does_not_depend_on_the_order_copies_arrive_in(
            replies in prop::collection::vec(
                // Each reply: distinct output counts for its copies, and which are sidechains.
                (prop::collection::btree_set(1u64..1_000_000, 1..5), prop::collection::vec(any::<bool>(), 5)),
                1..20,
            ),
            seed in any::<u64>(),
        ) {
            let mut copies = Vec::new();
            let mut expected = Vec::new();
            for (key, (outputs, sidechains)) in replies.iter().enumerate() {
                let list: Vec<StoredEntry> = outputs
                    .iter()
                    .zip(sidechains)
                    .map(|(output, sidechain)| copy(key as u128, *output, *sidechain))
                    .collect();
                let best = list
                    .iter()
                    .max_by_key(|c| (!c.is_sidechain, c.tokens.output))
                    .copied()
                    .unwrap();
                expected.push(best);
                copies.extend(list);
            }
            // A deterministic shuffle from the seed.
            let mut state = seed | 1;
            for index in (1..copies.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                copies.swap(index, (state % (index as u64 + 1)) as usize);
            }
            let mut deduplicator = Deduplicator::default();
            for candidate in copies {
                deduplicator.push(candidate);
            }
            let mut kept = deduplicator.into_entries();
            kept.sort_by_key(|e| e.key);
            prop_assert_eq!(kept, expected);
        }
    }

    #[test]
    fn entries_without_a_message_id_all_count() {
        let mut deduplicator = Deduplicator::default();
        for output in [1, 1, 2] {
            deduplicator.push(StoredEntry {
                key: None,
                ..copy(0, output, false)
            });
        }
        assert_eq!(deduplicator.into_entries().len(), 3);
    }
}
