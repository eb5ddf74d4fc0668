//! The spool: PostToolUse calls taken under a no-delay pass
//! ([`super::pass`]), each kept as one small file in the tool home's fast
//! folder until a process that opens the store files them there.
//!
//! A call is written to a temporary file (random name, O_EXCL, 0600) and
//! renamed to `call-<at_ms>-<pid>-<random>.json`, so a reader never sees
//! half of one. [`open_home`] is how every command, the dashboard and the
//! hook's full path open the store: it drains the spool first, so what
//! they read holds every call. The drain files each call in time order,
//! with the same bookkeeping the full path does (the duplicate check
//! between two installations, the hook event, the tool call) and the
//! pass's decision, inside one write transaction. Under that transaction's
//! lock a file is removed before its call is filed, and only the process
//! that removed it files it, so two drains never file a call twice. If the
//! transaction then fails, the calls it removed are lost, as a hook that
//! fails open loses its call.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::pass::{Pass, PassWindow};
use crate::config::Config;
use crate::event::SessionContext;
use crate::paths::ToolHome;
use crate::store::Store;

/// File prefix of a spooled call.
pub const CALL_PREFIX: &str = "call-";
/// A spooled call larger than this is not ours: it is removed unread.
const MAX_CALL_BYTES: u64 = 64 * 1024;
/// A temporary file this old was left by a hook that died mid-write.
const STALE_TEMPORARY_MS: u128 = 3_600_000;

/// One PostToolUse taken under a pass: what its bookkeeping and decision
/// need.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpooledCall {
    pub at_ms: i64,
    /// The hook input's digest and the program that ran it, for the
    /// duplicate check between two installations.
    pub digest: i64,
    pub program: String,
    pub session_id: String,
    pub transcript_path: PathBuf,
    pub cwd: PathBuf,
    pub project_dir: PathBuf,
    pub tool_name: String,
    pub duration_ms: Option<u64>,
    /// The pass it was taken under.
    pub pass_granted_at_ms: i64,
    pub pass_until_ms: i64,
    pub pass_window: Option<PassWindow>,
}

impl SpooledCall {
    fn session(&self) -> SessionContext {
        SessionContext {
            session_id: self.session_id.clone(),
            transcript_path: self.transcript_path.clone(),
            cwd: self.cwd.clone(),
            project_dir: self.project_dir.clone(),
        }
    }

    fn pass(&self) -> Pass {
        Pass {
            granted_at_ms: self.pass_granted_at_ms,
            until_ms: self.pass_until_ms,
            fingerprint: 0,
            window: self.pass_window,
        }
    }
}

/// Writes one call to the spool: a temporary file renamed to a name no
/// other call has (never over one).
pub fn write(fast_dir: &Path, call: &SpooledCall) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(call)?;
    let mut file = super::pass::written_temporary(fast_dir, &format!(".{CALL_PREFIX}"), &bytes)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let mut attempt = 0u32;
    loop {
        let name = format!(
            "{CALL_PREFIX}{:016}-{}-{nanos:09}-{attempt}.json",
            call.at_ms.max(0),
            std::process::id(),
        );
        match file.persist_noclobber(fast_dir.join(name)) {
            Ok(_) => return Ok(()),
            Err(error)
                if error.error.kind() == std::io::ErrorKind::AlreadyExists && attempt < 8 =>
            {
                file = error.file;
                attempt += 1;
            }
            Err(error) => return Err(error.error),
        }
    }
}

/// Opens the tool home's store and files the spooled calls in it. A drain
/// that fails is logged and leaves the calls for the next one.
pub fn open_home(home: &ToolHome, config: &Config) -> anyhow::Result<Store> {
    let mut store = Store::open_home(home, config)?;
    match drain(&mut store, &home.fast_dir()) {
        Ok(0) => {}
        Ok(filed) => tracing::debug!(calls = filed, "filed the spooled calls"),
        Err(error) => tracing::warn!("cannot file the spooled calls: {error:#}"),
    }
    Ok(store)
}

/// Files every spooled call in the store, oldest first; returns how many.
pub fn drain(store: &mut Store, fast_dir: &Path) -> anyhow::Result<usize> {
    let mut paths = spooled(fast_dir)?;
    if paths.is_empty() {
        return Ok(0);
    }
    paths.sort();
    // A file gone by now was filed by another drain.
    let calls: Vec<(PathBuf, Option<SpooledCall>)> = paths
        .into_iter()
        .filter_map(|path| read(&path).map(|call| (path, call)))
        .collect();
    if calls.is_empty() {
        return Ok(0);
    }
    store
        .write(|transaction| {
            let mut filed = 0;
            for (path, call) in &calls {
                // Removed first, under the store's write lock: only the
                // drain that removed it files it.
                if std::fs::remove_file(path).is_err() {
                    continue;
                }
                let Some(call) = call else {
                    continue;
                };
                if crate::sessions::seen_from_another_program(
                    transaction,
                    call.digest,
                    &call.program,
                    call.at_ms,
                )? {
                    continue;
                }
                let session = call.session();
                crate::sessions::record_hook_event(
                    transaction,
                    &call.session_id,
                    crate::event::EventKind::PostToolUse.cli_name(),
                    call.at_ms,
                )?;
                crate::sessions::record_tool_call(
                    transaction,
                    &session,
                    &call.tool_name,
                    call.duration_ms,
                    call.at_ms,
                )?;
                super::pass::record_call(transaction, &call.session_id, call.at_ms, &call.pass())?;
                filed += 1;
            }
            Ok(filed)
        })
        .context("cannot file the spooled calls in the store")
}

/// The spooled calls' files; temporary files left by a dead writer go.
fn spooled(fast_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(fast_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot list {}", fast_dir.display()))
        }
    };
    let mut paths = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(CALL_PREFIX) && name.ends_with(".json") {
            paths.push(entry.path());
        } else if name.starts_with('.') && is_stale(&entry) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(paths)
}

fn is_stale(entry: &std::fs::DirEntry) -> bool {
    entry
        .metadata()
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|age| age.as_millis() > STALE_TEMPORARY_MS)
}

/// A spooled call: `None` when the file is gone (another drain filed
/// it), `Some(None)` (logged) for a file that is not a call.
fn read(path: &Path) -> Option<Option<SpooledCall>> {
    let bytes = match crate::fsutil::read_regular_capped(path, MAX_CALL_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            tracing::warn!(
                "{} is too large for a spooled call: removed",
                path.display()
            );
            return Some(None);
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            tracing::warn!("cannot read {}: {error}: removed", path.display());
            return Some(None);
        }
    };
    Some(
        serde_json::from_slice(&bytes)
            .map_err(|error| {
                tracing::warn!(
                    "{} is not a spooled call ({error}): removed",
                    path.display()
                )
            })
            .ok(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call(at_ms: i64, program: &str) -> SpooledCall {
        SpooledCall {
            at_ms,
            digest: at_ms,
            program: program.into(),
            session_id: "s".into(),
            transcript_path: "/t.jsonl".into(),
            cwd: "/p".into(),
            project_dir: "/p".into(),
            tool_name: "Bash".into(),
            duration_ms: Some(40),
            pass_granted_at_ms: 1000,
            pass_until_ms: 1000 + super::super::pass::PASS_MS,
            pass_window: None,
        }
    }

    fn counts(store: &Store) -> (i64, i64, i64) {
        let count = |table: &str| -> i64 {
            store
                .connection()
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                    row.get(0)
                })
                .unwrap()
        };
        (
            count("tool_calls"),
            count("hook_events"),
            count("pacing_decisions"),
        )
    }

    #[test]
    fn spooled_calls_are_filed_once_in_time_order_with_their_decision() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fast = dir.path().join("fast");
        crate::paths::ensure_private_dir(&fast).unwrap();
        for at in [3000, 1000, 2000] {
            write(&fast, &call(at, "pace-maker")).unwrap();
        }
        for entry in std::fs::read_dir(&fast).unwrap() {
            let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // Not ours: skipped and removed, never filed.
        std::fs::write(fast.join("call-0-0-0.json"), "{not json").unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        assert_eq!(drain(&mut store, &fast).unwrap(), 3);
        assert_eq!(counts(&store), (3, 3, 3));
        assert_eq!(std::fs::read_dir(&fast).unwrap().count(), 0);
        let times: Vec<i64> = crate::sessions::calls(store.connection(), "s", 0, 10_000)
            .unwrap()
            .into_iter()
            .map(|(at, delay)| {
                assert_eq!(delay, 0);
                at
            })
            .collect();
        assert_eq!(times, [1000, 2000, 3000]);
        assert_eq!(drain(&mut store, &fast).unwrap(), 0, "nothing twice");
        assert_eq!(counts(&store), (3, 3, 3));
        let decision = crate::pacing::decisions::recent_decisions(store.connection(), 1)
            .unwrap()
            .remove(0);
        assert_eq!((decision.delay_ms, decision.decided_at_ms), (0, 3000));
        assert!(decision.reason.contains("pass"), "{}", decision.reason);
    }

    #[test]
    fn the_same_input_from_a_second_installation_is_filed_once() {
        let dir = tempfile::tempdir().unwrap();
        let fast = dir.path().join("fast");
        crate::paths::ensure_private_dir(&fast).unwrap();
        write(&fast, &call(1000, "/usr/bin/pace-maker")).unwrap();
        write(&fast, &call(1000, "/plugin/pace-maker")).unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        assert_eq!(drain(&mut store, &fast).unwrap(), 1);
        assert_eq!(counts(&store), (1, 1, 1));
    }

    #[test]
    fn a_missing_fast_folder_drains_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        assert_eq!(drain(&mut store, &dir.path().join("fast")).unwrap(), 0);
    }
}
