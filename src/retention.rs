//! The store's retention sweep: closes the sessions gone idle and deletes
//! the history older than `store.history_days`, each table's rows through
//! the module that owns the table (`sessions`, `usage::snapshot`,
//! `pacing::decisions`). The hook runs it at SessionStart and SessionEnd,
//! at most once per `store.prune_interval_minutes`.

use rusqlite::Transaction;

use crate::pacing::decisions;
use crate::sessions::{self, Pruned};
use crate::usage::snapshot;

/// Key in `meta` holding the time of the last prune.
pub const LAST_PRUNE_KEY: &str = "last_prune_ms";

/// Closes sessions idle longer than `idle_ms` and deletes the history
/// (sessions, tool calls, hook events, usage snapshots, pacing decisions)
/// older than `history_ms`.
pub fn prune(
    transaction: &Transaction<'_>,
    now_ms: i64,
    idle_ms: i64,
    history_ms: i64,
) -> rusqlite::Result<Pruned> {
    let history_cutoff = now_ms - history_ms;
    let mut pruned = sessions::prune(transaction, now_ms, idle_ms, history_ms)?;
    pruned.rows += snapshot::prune_before(transaction, history_cutoff)?;
    pruned.rows += decisions::prune_before(transaction, history_cutoff)?;
    Ok(pruned)
}

/// Prunes if the last prune is older than `interval_ms`; cheap otherwise.
pub fn prune_if_due(
    transaction: &Transaction<'_>,
    now_ms: i64,
    interval_ms: i64,
    idle_ms: i64,
    history_ms: i64,
) -> rusqlite::Result<Option<Pruned>> {
    let last: Option<i64> =
        crate::store::meta(transaction, LAST_PRUNE_KEY)?.and_then(|value| value.parse().ok());
    if last.is_some_and(|last| now_ms - last < interval_ms && last <= now_ms) {
        return Ok(None);
    }
    let pruned = prune(transaction, now_ms, idle_ms, history_ms)?;
    crate::store::set_meta(transaction, LAST_PRUNE_KEY, &now_ms.to_string())?;
    Ok(Some(pruned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SessionContext;
    use crate::store::Store;
    use crate::usage::snapshot::{SnapshotSource, UsageSnapshot};
    use std::path::PathBuf;
    use std::time::Duration;

    fn context(id: &str) -> SessionContext {
        SessionContext {
            session_id: id.into(),
            transcript_path: PathBuf::from("/t.jsonl"),
            cwd: PathBuf::from("/p"),
            project_dir: PathBuf::from("/p"),
        }
    }

    #[test]
    fn the_sweep_prunes_every_owners_history_once_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        let hour = 3_600_000;
        let now = 131 * hour;
        store
            .write(|tx| {
                for (session, at) in [("old", 0), ("idle", 100 * hour), ("live", 130 * hour)] {
                    sessions::start(tx, &context(session), "startup", None, at)?;
                    sessions::record_tool_call(tx, &context(session), "Bash", None, at)?;
                    sessions::record_hook_event(tx, session, "post-tool-use", at)?;
                    snapshot::insert(
                        tx,
                        &UsageSnapshot {
                            source: SnapshotSource::Statusline,
                            taken_at_ms: at,
                            five_hour: None,
                            seven_day: None,
                            seven_day_opus: None,
                            seven_day_sonnet: None,
                            raw_json: None,
                        },
                    )?;
                    decisions::insert(
                        tx,
                        &decisions::NewDecision {
                            session_id: session,
                            decided_at_ms: at,
                            delay_ms: 0,
                            window: None,
                            utilization: None,
                            projected_percent: None,
                            target_percent: None,
                            reason: "test",
                        },
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let pruned = store
            .write(|tx| prune_if_due(tx, now, hour, 24 * hour, 60 * hour))
            .unwrap();
        // The old session; its call, hook event, snapshot and decision.
        assert_eq!(
            pruned,
            Some(Pruned {
                sessions: 1,
                rows: 4
            })
        );
        let connection = store.connection();
        assert!(sessions::get(connection, "old").unwrap().is_none());
        let idle = sessions::get(connection, "idle").unwrap().unwrap();
        assert_eq!(idle.end_reason.as_deref(), Some("idle"));
        let live = sessions::get(connection, "live").unwrap().unwrap();
        assert!(live.ended_at_ms.is_none());
        let taken: Vec<i64> = snapshot::since(connection, 0)
            .unwrap()
            .iter()
            .map(|snapshot| snapshot.taken_at_ms)
            .collect();
        assert_eq!(taken, [100 * hour, 130 * hour]);
        let decided: Vec<i64> = decisions::decisions_between(connection, 0, i64::MAX)
            .unwrap()
            .iter()
            .map(|decision| decision.decided_at_ms)
            .collect();
        assert_eq!(decided, [100 * hour, 130 * hour]);
        // Not due again within the interval.
        assert!(store
            .write(|tx| prune_if_due(tx, now + 1000, hour, 24 * hour, 60 * hour))
            .unwrap()
            .is_none());
    }
}
