//! Session bookkeeping: what each Claude Code session did, kept in the store.
//!
//! Every function takes an open write transaction so a hook does all its
//! bookkeeping in one lock hold. Counters are incremented in SQL
//! (`tool_calls = tool_calls + 1`), never read-modify-written in Rust,
//! so concurrent hooks cannot lose an update.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use crate::event::SessionContext;

/// Creates the session if it is new and marks it active.
pub fn touch(
    transaction: &Transaction<'_>,
    session: &SessionContext,
    now_ms: i64,
) -> rusqlite::Result<()> {
    transaction.execute(
        "INSERT INTO sessions (id, project_dir, transcript_path, started_at, last_activity_at)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT(id) DO UPDATE SET
            last_activity_at = MAX(last_activity_at, excluded.last_activity_at),
            project_dir = CASE WHEN excluded.project_dir <> '' THEN excluded.project_dir ELSE project_dir END,
            transcript_path = CASE WHEN excluded.transcript_path <> '' THEN excluded.transcript_path ELSE transcript_path END,
            ended_at = NULL",
        params![
            session.session_id,
            session.project_dir.to_string_lossy(),
            session.transcript_path.to_string_lossy(),
            now_ms
        ],
    )?;
    Ok(())
}

/// SessionStart: creates or refreshes the session.
pub fn start(
    transaction: &Transaction<'_>,
    session: &SessionContext,
    source: &str,
    model: Option<&str>,
    now_ms: i64,
) -> rusqlite::Result<()> {
    touch(transaction, session, now_ms)?;
    transaction.execute(
        "UPDATE sessions SET source = ?2, model = COALESCE(?3, model),
            started_at = CASE WHEN ?2 = 'startup' THEN ?4 ELSE started_at END,
            end_reason = NULL
         WHERE id = ?1",
        params![session.session_id, source, model, now_ms],
    )?;
    Ok(())
}

/// UserPromptSubmit: the last time a person spoke to the session.
pub fn record_prompt(
    transaction: &Transaction<'_>,
    session: &SessionContext,
    now_ms: i64,
) -> rusqlite::Result<()> {
    touch(transaction, session, now_ms)?;
    transaction.execute(
        "UPDATE sessions SET last_prompt_at = ?2 WHERE id = ?1",
        params![session.session_id, now_ms],
    )?;
    Ok(())
}

/// PostToolUse: one more tool call.
pub fn record_tool_call(
    transaction: &Transaction<'_>,
    session: &SessionContext,
    tool_name: &str,
    duration_ms: Option<u64>,
    now_ms: i64,
) -> rusqlite::Result<()> {
    touch(transaction, session, now_ms)?;
    transaction.execute(
        "UPDATE sessions SET tool_calls = tool_calls + 1, tool_time_ms = tool_time_ms + ?2 WHERE id = ?1",
        params![session.session_id, duration_ms.unwrap_or(0) as i64],
    )?;
    transaction.execute(
        "INSERT INTO tool_calls (session_id, at, tool_name, duration_ms) VALUES (?1, ?2, ?3, ?4)",
        params![
            session.session_id,
            now_ms,
            tool_name,
            duration_ms.map(|ms| ms as i64)
        ],
    )?;
    Ok(())
}

/// SessionEnd: closes the session.
pub fn end(
    transaction: &Transaction<'_>,
    session: &SessionContext,
    reason: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    touch(transaction, session, now_ms)?;
    transaction.execute(
        "UPDATE sessions SET ended_at = ?2, end_reason = ?3 WHERE id = ?1",
        params![session.session_id, now_ms, reason],
    )?;
    Ok(())
}

/// Records that a hook ran for a session (what `status` and the end-to-end
/// tests count).
pub fn record_hook_event(
    transaction: &Transaction<'_>,
    session_id: &str,
    event: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    transaction.execute(
        "INSERT INTO hook_events (session_id, event, at) VALUES (?1, ?2, ?3)",
        params![session_id, event, now_ms],
    )?;
    Ok(())
}

/// How long a hook input is remembered to spot a second run of it. Claude
/// Code starts an event's hooks together, so another command's run of the
/// same input comes within milliseconds.
pub const DUPLICATE_WINDOW_MS: i64 = 2000;

/// Whether another program (another path to pace-maker, a second
/// installation) already took this very hook input in the last
/// [`DUPLICATE_WINDOW_MS`]. Claude Code runs identical commands once, so
/// the same input run twice by the same program is two events (a test, a
/// repeated stop), and is not a duplicate. Records this run either way and
/// forgets older ones.
pub fn seen_from_another_program(
    transaction: &Transaction<'_>,
    digest: i64,
    program: &str,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    transaction.execute(
        "DELETE FROM hook_inputs WHERE at < ?1",
        [now_ms - DUPLICATE_WINDOW_MS],
    )?;
    let seen: bool = transaction.query_row(
        "SELECT EXISTS (SELECT 1 FROM hook_inputs WHERE digest = ?1 AND program <> ?2)",
        params![digest, program],
        |row| row.get(0),
    )?;
    transaction.execute(
        "INSERT OR REPLACE INTO hook_inputs (digest, program, at) VALUES (?1, ?2, ?3)",
        params![digest, program, now_ms],
    )?;
    Ok(seen)
}

/// What pruning removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: usize,
    pub rows: usize,
}

/// Closes sessions idle longer than `idle_ms` and deletes the sessions,
/// tool calls and hook events older than `history_ms` (this module's part
/// of the retention sweep, `retention::prune`).
pub fn prune(
    transaction: &Transaction<'_>,
    now_ms: i64,
    idle_ms: i64,
    history_ms: i64,
) -> rusqlite::Result<Pruned> {
    let idle_cutoff = now_ms - idle_ms;
    let history_cutoff = now_ms - history_ms;
    // Idle sessions are closed; their rows stay as history until it expires.
    transaction.execute(
        "UPDATE sessions SET ended_at = last_activity_at, end_reason = 'idle'
         WHERE ended_at IS NULL AND last_activity_at < ?1",
        [idle_cutoff],
    )?;
    let sessions = transaction.execute(
        "DELETE FROM sessions WHERE last_activity_at < ?1",
        [history_cutoff],
    )?;
    let mut rows = transaction.execute("DELETE FROM tool_calls WHERE at < ?1", [history_cutoff])?;
    rows += transaction.execute("DELETE FROM hook_events WHERE at < ?1", [history_cutoff])?;
    // The calls' running sums per ten minutes (store migration 8) follow:
    // the buckets before the cut go, the one it falls in is summed again
    // from the calls left in it.
    let cut_bucket = history_cutoff.div_euclid(crate::store::TOOL_CALL_BUCKET_MS);
    transaction.execute(
        "DELETE FROM tool_call_buckets WHERE bucket <= ?1",
        [cut_bucket],
    )?;
    transaction.execute(
        "INSERT INTO tool_call_buckets (session_id, bucket, first_at, delay_ms)
         SELECT session_id, ?1, MIN(at), SUM(delay_ms) FROM tool_calls
         WHERE at >= ?1 * ?2 AND at < (?1 + 1) * ?2 GROUP BY session_id",
        [cut_bucket, crate::store::TOOL_CALL_BUCKET_MS],
    )?;
    Ok(Pruned { sessions, rows })
}

/// A session as `status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    pub id: String,
    pub project_dir: String,
    pub transcript_path: String,
    pub source: Option<String>,
    pub model: Option<String>,
    pub started_at_ms: i64,
    pub last_activity_at_ms: i64,
    pub last_prompt_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
    pub end_reason: Option<String>,
    pub tool_calls: i64,
    pub tool_time_ms: i64,
    pub delay_ms_total: i64,
    pub momentum_blocks: i64,
}

const SESSION_COLUMNS: &str = "id, project_dir, transcript_path, source, model, started_at, last_activity_at,
    last_prompt_at, ended_at, end_reason, tool_calls, tool_time_ms, delay_ms_total, momentum_blocks";

fn session_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: row.get(0)?,
        project_dir: row.get(1)?,
        transcript_path: row.get(2)?,
        source: row.get(3)?,
        model: row.get(4)?,
        started_at_ms: row.get(5)?,
        last_activity_at_ms: row.get(6)?,
        last_prompt_at_ms: row.get(7)?,
        ended_at_ms: row.get(8)?,
        end_reason: row.get(9)?,
        tool_calls: row.get(10)?,
        tool_time_ms: row.get(11)?,
        delay_ms_total: row.get(12)?,
        momentum_blocks: row.get(13)?,
    })
}

/// One session by id.
pub fn get(connection: &Connection, id: &str) -> rusqlite::Result<Option<SessionRow>> {
    connection
        .query_row(
            &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"),
            [id],
            session_from_row,
        )
        .optional()
}

/// Sessions active since `since_ms` (or not ended), most recent first.
pub fn recent(
    connection: &Connection,
    since_ms: i64,
    limit: usize,
) -> rusqlite::Result<Vec<SessionRow>> {
    let mut statement = connection.prepare(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions
         WHERE last_activity_at >= ?1 OR ended_at IS NULL
         ORDER BY last_activity_at DESC LIMIT ?2"
    ))?;
    let rows = statement.query_map(params![since_ms, limit as i64], session_from_row)?;
    rows.collect()
}

/// Adds a pacing delay to the session's total and to its tool call at
/// `at_ms` (the call the PostToolUse hook runs for).
pub fn add_delay(
    transaction: &Transaction<'_>,
    session_id: &str,
    at_ms: i64,
    delay_ms: i64,
) -> rusqlite::Result<()> {
    transaction.execute(
        "UPDATE sessions SET delay_ms_total = delay_ms_total + ?2 WHERE id = ?1",
        params![session_id, delay_ms],
    )?;
    transaction.execute(
        "UPDATE tool_calls SET delay_ms = ?3 WHERE session_id = ?1 AND at = ?2",
        params![session_id, at_ms, delay_ms],
    )?;
    Ok(())
}

/// The session's momentum counters, as stored in the `sessions` table
/// (momentum's Stop verdict reads and moves them: `momentum::verdict`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Blocks in this session.
    pub momentum_blocks: i64,
    /// Blocks in the current run without tool use between them.
    pub consecutive_blocks: i64,
    /// Tool calls the PostToolUse hook has counted in this session.
    pub tool_calls: i64,
    /// `tool_calls` when the last block was given; `None` before any block.
    pub tool_calls_at_last_block: Option<i64>,
    /// When the current run of blocks without a ticked criterion began.
    pub blocking_since: Option<i64>,
    pub last_block_at: Option<i64>,
    /// Open criteria at the previous Stop (to see a criterion being ticked).
    pub last_open_criteria: Option<i64>,
}

/// The session's momentum counters (all zero for a session not seen).
pub fn momentum_counters(connection: &Connection, session_id: &str) -> rusqlite::Result<Counters> {
    Ok(connection
        .query_row(
            "SELECT momentum_blocks, consecutive_blocks, tool_calls, tool_calls_at_last_block,
                    blocking_since, last_block_at, last_open_criteria
             FROM sessions WHERE id = ?1",
            [session_id],
            |row| {
                Ok(Counters {
                    momentum_blocks: row.get(0)?,
                    consecutive_blocks: row.get(1)?,
                    tool_calls: row.get(2)?,
                    tool_calls_at_last_block: row.get(3)?,
                    blocking_since: row.get(4)?,
                    last_block_at: row.get(5)?,
                    last_open_criteria: row.get(6)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

/// Writes the momentum counters; `tool_calls` belongs to PostToolUse and is left alone.
pub fn set_momentum_counters(
    transaction: &Transaction<'_>,
    session_id: &str,
    counters: &Counters,
) -> rusqlite::Result<()> {
    transaction.execute(
        "UPDATE sessions SET momentum_blocks = ?2, consecutive_blocks = ?3,
            tool_calls_at_last_block = ?4, blocking_since = ?5, last_block_at = ?6,
            last_open_criteria = ?7
         WHERE id = ?1",
        params![
            session_id,
            counters.momentum_blocks,
            counters.consecutive_blocks,
            counters.tool_calls_at_last_block,
            counters.blocking_since,
            counters.last_block_at,
            counters.last_open_criteria,
        ],
    )?;
    Ok(())
}

/// When the session's current turn began: its last prompt, else its start.
pub fn turn_began_ms(connection: &Connection, session_id: &str) -> rusqlite::Result<Option<i64>> {
    Ok(connection
        .query_row(
            "SELECT MAX(started_at, COALESCE(last_prompt_at, started_at)) FROM sessions WHERE id = ?1",
            params![session_id],
            |row| row.get(0),
        )
        .optional()?
        .flatten())
}

/// The sessions other than `session_id` active since `since_ms`, the most
/// recently active first, at most `limit`.
pub fn others_active_since(
    connection: &Connection,
    session_id: &str,
    since_ms: i64,
    limit: i64,
) -> rusqlite::Result<Vec<String>> {
    let mut sessions = connection.prepare_cached(
        "SELECT id FROM sessions
         WHERE last_activity_at >= ?2 AND id <> ?1
         ORDER BY last_activity_at DESC, id LIMIT ?3",
    )?;
    let ids = sessions.query_map(params![session_id, since_ms, limit], |row| {
        row.get::<_, String>(0)
    })?;
    ids.collect()
}

/// A session's newest `limit` tool calls in `[from_ms, to_ms]`, newest
/// first: when each was made and the delay decided after it.
pub fn newest_calls(
    connection: &Connection,
    session_id: &str,
    from_ms: i64,
    to_ms: i64,
    limit: i64,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut calls = connection.prepare_cached(
        "SELECT at, delay_ms FROM tool_calls
         WHERE session_id = ?1 AND at >= ?2 AND at <= ?3
         ORDER BY at DESC LIMIT ?4",
    )?;
    let rows = calls.query_map(params![session_id, from_ms, to_ms, limit], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })?;
    rows.collect()
}

/// A session's tool calls in `[from_ms, to_ms)`, oldest first: when each
/// was made and the delay decided after it.
pub fn calls(
    connection: &Connection,
    session_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut each_call = connection.prepare_cached(
        "SELECT at, delay_ms FROM tool_calls
         WHERE session_id = ?1 AND at >= ?2 AND at < ?3
         ORDER BY at",
    )?;
    let rows = each_call.query_map(params![session_id, from_ms, to_ms], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })?;
    rows.collect()
}

/// A session's tool calls in `[from_ms, through_ms]` (the end included),
/// oldest first: when each was made and the delay decided after it.
pub fn calls_through(
    connection: &Connection,
    session_id: &str,
    from_ms: i64,
    through_ms: i64,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut statement = connection.prepare_cached(
        "SELECT at, delay_ms FROM tool_calls
         WHERE session_id = ?1 AND at >= ?2 AND at <= ?3
         ORDER BY at",
    )?;
    let rows = statement.query_map(params![session_id, from_ms, through_ms], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })?;
    rows.collect()
}

/// A session's running sums of its calls (`tool_call_buckets`, one row per
/// [`crate::store::TOOL_CALL_BUCKET_MS`]) for the buckets in
/// `[first_bucket, end_bucket)`, oldest first: the first call's time in
/// each and the sum of the delays decided in it.
pub fn call_buckets(
    connection: &Connection,
    session_id: &str,
    first_bucket: i64,
    end_bucket: i64,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut buckets = connection.prepare_cached(
        "SELECT first_at, delay_ms FROM tool_call_buckets
         WHERE session_id = ?1 AND bucket >= ?2 AND bucket < ?3
         ORDER BY bucket",
    )?;
    let rows = buckets.query_map(params![session_id, first_bucket, end_bucket], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })?;
    rows.collect()
}

/// A session's stored model (if any) and its transcript path.
pub fn model_and_transcript(
    connection: &Connection,
    session_id: &str,
) -> rusqlite::Result<Option<(Option<String>, String)>> {
    connection
        .query_row(
            "SELECT model, transcript_path FROM sessions WHERE id = ?1",
            params![session_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
}

/// Stores a session's model found in its transcript, unless one is stored.
pub fn set_model_if_unknown(
    transaction: &Transaction<'_>,
    session_id: &str,
    model: &str,
) -> rusqlite::Result<usize> {
    transaction.execute(
        "UPDATE sessions SET model = ?2 WHERE id = ?1 AND model IS NULL",
        params![session_id, model],
    )
}

/// Whether a session is stored with a model other than `model` (`false`
/// for a session not stored).
pub fn model_differs(
    connection: &Connection,
    session_id: &str,
    model: &str,
) -> rusqlite::Result<bool> {
    Ok(connection
        .query_row(
            "SELECT model IS NOT ?2 FROM sessions WHERE id = ?1",
            params![session_id, model],
            |row| row.get::<_, bool>(0),
        )
        .optional()?
        .unwrap_or(false))
}

/// Stores a session's model (the status line's, after `/model`).
pub fn set_model(
    transaction: &Transaction<'_>,
    session_id: &str,
    model: &str,
) -> rusqlite::Result<usize> {
    transaction.execute(
        "UPDATE sessions SET model = ?2 WHERE id = ?1",
        params![session_id, model],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
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

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        (dir, store)
    }

    #[test]
    fn tool_calls_count_up_and_end_closes() {
        let (_dir, mut store) = store();
        let session = context("a");
        store
            .write(|tx| start(tx, &session, "startup", Some("opus"), 1000))
            .unwrap();
        store
            .write(|tx| record_tool_call(tx, &session, "Bash", Some(35), 2000))
            .unwrap();
        store
            .write(|tx| record_tool_call(tx, &session, "Read", None, 3000))
            .unwrap();
        store.write(|tx| end(tx, &session, "other", 4000)).unwrap();
        let row = get(store.connection(), "a").unwrap().unwrap();
        assert_eq!(row.tool_calls, 2);
        assert_eq!(row.tool_time_ms, 35);
        assert_eq!(row.ended_at_ms, Some(4000));
        assert_eq!(row.model.as_deref(), Some("opus"));
    }

    #[test]
    fn pruning_closes_idle_sessions_and_drops_old_history() {
        let (_dir, mut store) = store();
        let hour = 3_600_000;
        store
            .write(|tx| start(tx, &context("old"), "startup", None, 0))
            .unwrap();
        store
            .write(|tx| record_tool_call(tx, &context("old"), "Bash", None, 0))
            .unwrap();
        store
            .write(|tx| start(tx, &context("idle"), "startup", None, 100 * hour))
            .unwrap();
        store
            .write(|tx| start(tx, &context("live"), "startup", None, 130 * hour))
            .unwrap();
        let now = 131 * hour;
        let pruned = store
            .write(|tx| prune(tx, now, 24 * hour, 60 * hour))
            .unwrap();
        assert_eq!(
            pruned,
            Pruned {
                sessions: 1,
                rows: 1
            }
        );
        assert!(get(store.connection(), "old").unwrap().is_none());
        assert_eq!(
            get(store.connection(), "idle")
                .unwrap()
                .unwrap()
                .end_reason
                .as_deref(),
            Some("idle")
        );
        assert!(get(store.connection(), "live")
            .unwrap()
            .unwrap()
            .ended_at_ms
            .is_none());
    }
}
